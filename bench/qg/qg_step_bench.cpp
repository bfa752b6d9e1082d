// Steps per second of the two-layer QG stepper (plugins/qg) at nx = 64 .. 512,
// one thread, one member and a batch of 16, next to the time of the step's
// 10 bare FFTs measured in the same run (the floor no implementation of the
// scheme on FFTW can beat) and pyqg's speed on this kind of machine.
//
//   qg_step_bench [--estimate] [--seconds S] [nx ...]
#include "fft.hpp"
#include "grid.hpp"
#include "stepper.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

// Best time per call of `a` and of `b` over 5 rounds of at least `seconds` / 10
// each, the two taking turns so that a change in the machine's load hits both.
template <class A, class B>
std::pair<double, double> seconds_per_call(A&& a, B&& b, double seconds) {
  auto best_of_round = [seconds](auto& work) {
    std::int64_t calls = 0;
    const auto begin = Clock::now();
    double elapsed = 0;
    do {
      work();
      ++calls;
      elapsed = std::chrono::duration<double>(Clock::now() - begin).count();
    } while (elapsed < seconds / 10);
    return elapsed / static_cast<double>(calls);
  };
  a();  // warm caches and pages
  b();
  std::pair<double, double> best{1e300, 1e300};
  for (int round = 0; round < 5; ++round) {
    best.first = std::min(best.first, best_of_round(a));
    best.second = std::min(best.second, best_of_round(b));
  }
  return best;
}

// pyqg's time step and pyqg's speed (reference doc, "Speed anchors": the
// faster end of each range) per grid size.
double time_step(std::int64_t nx) { return nx <= 64 ? 7200.0 : nx <= 128 ? 3600.0 : nx <= 256 ? 1800.0 : 900.0; }
double pyqg_ms(std::int64_t nx) {
  switch (nx) {
    case 64: return 0.25;
    case 128: return 0.8;
    case 256: return 3.4;
    case 512: return 15.0;
    default: return 0;
  }
}

}  // namespace

int main(int argc, char** argv) {
  assim::qg::Planning planning = assim::qg::Planning::Measure;
  double seconds = 1.0;
  std::vector<std::int64_t> sizes;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--estimate") {
      planning = assim::qg::Planning::Estimate;
    } else if (arg == "--seconds" && i + 1 < argc) {
      seconds = std::atof(argv[++i]);
    } else if (!arg.empty() && arg[0] != '-') {
      sizes.push_back(std::atoll(arg.c_str()));
    } else {
      std::fprintf(stderr, "usage: %s [--estimate] [--seconds S] [nx ...]\n", argv[0]);
      return 2;
    }
  }
  if (sizes.empty()) sizes = {64, 128, 256, 512};

  std::printf("FFTW %s, planning %s, one thread, %.1f s per measurement\n", fftw_version,
              planning == assim::qg::Planning::Measure ? "FFTW_MEASURE" : "FFTW_ESTIMATE", seconds);
  std::printf("%5s %7s %8s %13s %15s %10s %10s %12s\n", "nx", "members", "dt [s]",
              "ms/step/mem", "member-steps/s", "floor [ms]", "step/floor", "pyqg/step");
  for (std::int64_t nx : sizes) {
    assim::qg::Parameters p;
    p.nx = nx;
    p.dt = time_step(nx);
    auto grid = std::make_shared<const assim::qg::Grid>(p);
    const auto plane = static_cast<std::size_t>(grid->points());
    const auto modes = static_cast<std::size_t>(grid->modes());

    // The step's 10 transforms alone, on the stepper's plans: 4 velocity
    // inverses, 4 flux forwards, 2 inverses for q. Zeros cost what data costs.
    const assim::qg::Transforms& plans = assim::qg::transforms(nx, planning);
    auto spectral = assim::qg::complex_array(4 * modes);
    auto real = assim::qg::real_array(4 * plane);
    auto q_real = assim::qg::real_array(2 * plane);
    auto ten_ffts = [&] {
      fftw_execute_dft_c2r(plans.inverse4, spectral.get(), real.get());
      fftw_execute_dft_r2c(plans.forward4, real.get(), spectral.get());
      fftw_execute_dft_c2r(plans.inverse2, spectral.get(), q_real.get());
    };

    for (std::int64_t members : {1, 16}) {
      // pyqg's initial condition, then a spin-up past the Euler/AB2 start.
      auto q = assim::qg::real_array(static_cast<std::size_t>(members) * 2 * plane);
      std::mt19937_64 engine(42);
      std::uniform_real_distribution<double> uniform(0.0, 1.0);
      for (std::int64_t m = 0; m < members; ++m) {
        double* q1 = q.get() + m * 2 * plane;
        for (std::size_t x = 0; x < plane; ++x)
          q1[x] = 1e-7 * uniform(engine) + 1e-6 * uniform(engine);
      }
      assim::qg::Stepper stepper(grid, members, planning);
      stepper.start(q.get());
      stepper.advance(q.get(), 10);
      // Whole blocks of steps per call, as a long run advances.
      const auto [floor, block] = seconds_per_call(
          ten_ffts, [&] { stepper.advance(q.get(), assim::qg::Stepper::block); }, seconds);
      const double step = block / assim::qg::Stepper::block / static_cast<double>(members);
      const double pyqg = pyqg_ms(nx);
      std::printf("%5lld %7lld %8.0f %13.4f %15.0f %10.4f %10.2f %12s\n",
                  static_cast<long long>(nx), static_cast<long long>(members), p.dt, step * 1e3,
                  1.0 / step, floor * 1e3, step / floor,
                  pyqg > 0 ? (std::to_string(pyqg / (step * 1e3)).substr(0, 4) + "x").c_str() : "-");
    }
  }
  return 0;
}
