#include "log_sink.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>

namespace assim::log {

namespace {
std::atomic<Level> current{Level::Info};
const auto start = std::chrono::steady_clock::now();
std::mutex output;
std::string prefix;
Sink sink;
}  // namespace

void set_level(Level level) { current = level; }
Level level() { return current; }
void set_prefix(const std::string& text) {
  std::lock_guard<std::mutex> lock(output);
  prefix = text.empty() ? "" : text + ": ";
}

void set_sink(Sink s) {
  std::lock_guard<std::mutex> lock(output);
  sink = std::move(s);
}

bool has_sink() {
  std::lock_guard<std::mutex> lock(output);
  return static_cast<bool>(sink);
}

void write(Level level, const std::string& message) {
  static const char* names[] = {"debug", "info", "warning", "error"};
  std::lock_guard<std::mutex> lock(output);
  if (sink) {
    sink(level, prefix + message);
    return;
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::fprintf(stderr, "[%8.1fs %s] %s%s\n", seconds, names[static_cast<int>(level)], prefix.c_str(), message.c_str());
  std::fflush(stderr);
}

}  // namespace assim::log
