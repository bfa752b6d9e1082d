#include "log_sink.hpp"
#include <assim/progress.hpp>
#include <assim/workers.hpp>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

namespace assim {

namespace {
// Progress objects alive on this thread, outermost first. A nested one (a
// sampler's steps inside a stage's windows) reports only every 30 s, as a
// plain line, so that the outer bar stays readable and long inner work still
// shows life. One made on a worker is nested in the runner's, which the
// waiting thread draws.
thread_local std::vector<const Progress*> alive;

bool nested(const Progress* p) { return workers::inside() || (!alive.empty() && alive.front() != p); }

std::string duration_text(double seconds) {
  char buffer[32];
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  long s = std::lround(seconds);
  if (s >= 3600)
    std::snprintf(buffer, sizeof buffer, "%ldh%02ldm", s / 3600, (s / 60) % 60);
  else
    std::snprintf(buffer, sizeof buffer, "%ldm%02lds", s / 60, s % 60);
  return buffer;
}
}  // namespace

Progress::Progress(std::string label, std::int64_t total, std::string unit)
    : label_(std::move(label)),
      unit_(std::move(unit)),
      total_(total),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_),
      terminal_(::isatty(STDERR_FILENO) == 1 && !log::has_sink()) {
  alive.push_back(this);
  if (nested(this)) terminal_ = false;
}

Progress::~Progress() {
  finish();
  alive.erase(std::find(alive.begin(), alive.end(), this));
}

void Progress::advance(std::int64_t n) {
  done_ += n;
  draw(false);
}

void Progress::note(std::string text) { note_ = std::move(text); }

void Progress::finish() {
  if (finished_) return;
  finished_ = true;
  if (done_ > 0 && done_ != last_drawn_) draw(true);
  if (terminal_ && done_ > 0) std::fputc('\n', stderr);
}

void Progress::draw(bool force) {
  auto now = std::chrono::steady_clock::now();
  double since_draw = std::chrono::duration<double>(now - last_draw_).count();
  double elapsed = std::chrono::duration<double>(now - start_).count();
  if (nested(this) && since_draw < 30) return;
  if (!force) {
    if (terminal_ && since_draw < 0.2) return;
    if (!terminal_) {
      // Plain lines: every 10 % of the work or every 30 s.
      bool tenth = total_ > 0 && (done_ * 10 / total_) != (last_drawn_ * 10 / std::max<std::int64_t>(total_, 1));
      if (!tenth && since_draw < 30) return;
    }
  }
  last_draw_ = now;
  last_drawn_ = done_;
  double rate = elapsed > 0 ? done_ / elapsed : 0;
  double eta = rate > 0 ? (total_ - done_) / rate : NAN;
  double fraction = total_ > 0 ? static_cast<double>(done_) / total_ : 0;
  char line[256];
  if (terminal_) {
    const int width = 24;
    int filled = static_cast<int>(fraction * width);
    std::string bar(filled, '#');
    bar.resize(width, '.');
    std::snprintf(line, sizeof line, "\r%s [%s] %3.0f%% %lld/%lld %s, %.3g %s/s, ETA %s %s",
                  label_.c_str(), bar.c_str(), 100 * fraction, static_cast<long long>(done_),
                  static_cast<long long>(total_), unit_.c_str(), rate, unit_.c_str(),
                  duration_text(eta).c_str(), note_.c_str());
    std::fputs(line, stderr);
    std::fflush(stderr);
  } else {
    std::snprintf(line, sizeof line, "%s: %3.0f%% (%lld/%lld %s), %.3g %s/s, ETA %s %s",
                  label_.c_str(), 100 * fraction, static_cast<long long>(done_),
                  static_cast<long long>(total_), unit_.c_str(), rate, unit_.c_str(),
                  duration_text(eta).c_str(), note_.c_str());
    log::info(line);
  }
}

}  // namespace assim
