// Errors a plugin may throw. The host catches them, prints them with the
// experiment file, line and key that led there, and exits non-zero.
#pragma once

#include <assim/abi.hpp>

#include <stdexcept>
#include <string>

namespace assim {

class ASSIM_API Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message);
  ~Error() override;
};

// A value in an experiment is wrong. `where` is "file:line:column" and `key`
// the dotted path of the value (components.qg.dt).
class ASSIM_API ConfigError : public Error {
 public:
  ConfigError(std::string where, std::string key, const std::string& message);
  ~ConfigError() override;
  const std::string& where() const { return where_; }
  const std::string& key() const { return key_; }

 private:
  std::string where_;
  std::string key_;
};

// A computation left the range where its results mean anything: a NaN, a CFL
// number above one, an ensemble that collapsed. Names the step where it happened.
class ASSIM_API DivergenceError : public Error {
 public:
  DivergenceError(long step, const std::string& message);
  ~DivergenceError() override;
  long step() const { return step_; }

 private:
  long step_;
};

// `message` without the C++ stack trace LibTorch appends to its errors
// ("Exception raised from ...", "frame #0: ..."): the lines a user can act on.
ASSIM_API std::string without_backtrace(const std::string& message);

}  // namespace assim
