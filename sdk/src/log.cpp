#include <assim/log.hpp>

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
}  // namespace

void set_level(Level level) { current = level; }
Level level() { return current; }
void set_prefix(const std::string& text) {
  std::lock_guard<std::mutex> lock(output);
  prefix = text.empty() ? "" : text + ": ";
}

void write(Level level, const std::string& message) {
  static const char* names[] = {"debug", "info", "warning", "error"};
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::lock_guard<std::mutex> lock(output);
  std::fprintf(stderr, "[%8.1fs %s] %s%s\n", seconds, names[static_cast<int>(level)], prefix.c_str(), message.c_str());
  std::fflush(stderr);
}

}  // namespace assim::log
