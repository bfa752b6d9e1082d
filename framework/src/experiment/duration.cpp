#include <assim/error.hpp>
#include <assim/framework/duration.hpp>

#include <cmath>
#include <map>
#include <sstream>

namespace assim {

std::int64_t steps_in(const std::string& text, double step, const std::string& time_units) {
  std::istringstream in(text);
  double value = 0;
  std::string unit;
  if (!(in >> value)) throw Error("'" + text + "' is not a duration (examples: '5 years', '1 day', '100 steps')");
  in >> unit;
  std::string rest;
  if (in >> rest) throw Error("'" + text + "' is not a duration: unexpected '" + rest + "'");
  if (value < 0) throw Error("duration '" + text + "' is negative");
  // Beyond 2^53 steps a double no longer counts single steps (and a cast to
  // int64 can overflow to a negative count that would skip the work).
  constexpr double most_steps = 9007199254740992.0;
  if (unit == "step" || unit == "steps") {
    if (value != std::floor(value)) throw Error("'" + text + "' is not a whole number of steps");
    if (!(value <= most_steps)) throw Error("'" + text + "' is more steps than can be counted (at most 2^53)");
    return static_cast<std::int64_t>(value);
  }
  static const std::map<std::string, double> seconds = {
      {"s", 1},          {"second", 1},     {"seconds", 1},   {"min", 60},        {"minute", 60},
      {"minutes", 60},   {"h", 3600},       {"hour", 3600},   {"hours", 3600},    {"d", 86400},
      {"day", 86400},    {"days", 86400},   {"year", 365 * 86400.0}, {"years", 365 * 86400.0}};
  double length = value;  // in the model's time unit
  if (!unit.empty()) {
    auto it = seconds.find(unit);
    if (it == seconds.end())
      throw Error("unknown time unit '" + unit + "' in '" + text + "' (use s, min, h, day, year or steps)");
    if (time_units != "s")
      throw Error("'" + text + "' has a physical unit, but this model's time is nondimensional: give a number "
                  "of model time units or of steps");
    length = value * it->second;
  }
  double steps = length / step;
  if (!(steps <= most_steps))
    throw Error("'" + text + "' is more time steps than can be counted (at most 2^53 steps of " + std::to_string(step) +
                " " + time_units + ")");
  double whole = std::round(steps);
  if (std::abs(steps - whole) > 1e-9 * std::max(1.0, whole)) {
    std::ostringstream why;
    why << "'" << text << "' is not a whole number of time steps (one step is " << step << " "
        << time_units << ")";
    throw Error(why.str());
  }
  return static_cast<std::int64_t>(whole);
}

}  // namespace assim
