// Messages to the user, on standard error, with a level and the time since start.
#pragma once

#include <assim/abi.hpp>

#include <sstream>
#include <string>

namespace assim::log {

enum class Level { Debug = 0, Info = 1, Warning = 2, Error = 3 };

ASSIM_API void set_level(Level level);
ASSIM_API Level level();
ASSIM_API void write(Level level, const std::string& message);
// Text after the level of every message ("rank 1/4" when the host runs over
// several processes); empty by default.
ASSIM_API void set_prefix(const std::string& prefix);

template <class... Parts>
std::string concat(const Parts&... parts) {
  std::ostringstream out;
  (out << ... << parts);
  return out.str();
}

template <class... Parts>
void debug(const Parts&... parts) {
  if (level() <= Level::Debug) write(Level::Debug, concat(parts...));
}
template <class... Parts>
void info(const Parts&... parts) {
  if (level() <= Level::Info) write(Level::Info, concat(parts...));
}
template <class... Parts>
void warning(const Parts&... parts) {
  write(Level::Warning, concat(parts...));
}

}  // namespace assim::log
