// Progress of long work (spin-up, training, sampling). On a terminal it draws
// one updating line with rate and ETA; otherwise (CI, a log file) it prints a
// plain line every 10 % or 30 s, whichever comes first. A Progress made while
// another is alive on the same thread (a sampler's steps inside the assimilate
// stage's windows) is nested: it prints plain lines, at most one per 30 s, so
// the outer bar stays readable; use one freely inside any component.
#pragma once

#include <assim/abi.hpp>

#include <chrono>
#include <cstdint>
#include <string>

namespace assim {

class ASSIM_API Progress {
 public:
  // `unit` names what is counted ("step", "window", "sample").
  Progress(std::string label, std::int64_t total, std::string unit);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  void advance(std::int64_t n = 1);
  // Extra text after the bar, such as "loss 0.031".
  void note(std::string text);
  void finish();

 private:
  void draw(bool force);
  std::string label_, unit_, note_;
  std::int64_t total_, done_ = 0, last_drawn_ = -1;
  std::chrono::steady_clock::time_point start_, last_draw_;
  bool terminal_, finished_ = false;
};

}  // namespace assim
