// Steps per second of the two-layer QG stepper (plugins/qg) at nx = 64 .. 512,
// for one member and a batch of 16 (--members), on --threads threads, next to
// the time of the step's 10 bare FFTs on one thread measured in the same run
// (the floor no implementation of the scheme on FFTW can beat). pyqg is run
// beside it by compare_pyqg.py, which reads this program's output.
//
//   qg_step_bench [--estimate | --wisdom FILE] [--seconds S] [--threads T] [--members 1,16] [nx ...]
//   qg_step_bench --planes [--seconds S] [nx ...]
//
// --planes times instead one r2c and one c2r transform per plane of FFTW
// plans over 4, 16 and 64 planes (FFTW_MEASURE): whether transforming many
// members' planes in one plan would be cheaper per plane.
#include "fft.hpp"
#include "grid.hpp"
#include "stepper.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <omp.h>

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

// A stable time step per grid size (pyqg's default 7200 s is unstable from 256 on).
double time_step(std::int64_t nx) { return nx <= 64 ? 7200.0 : nx <= 128 ? 3600.0 : nx <= 256 ? 1800.0 : 900.0; }

std::vector<std::int64_t> numbers(const std::string& list) {
  std::vector<std::int64_t> out;
  std::size_t start = 0;
  while (start <= list.size()) {
    const std::size_t comma = std::min(list.find(',', start), list.size());
    out.push_back(std::atoll(list.substr(start, comma - start).c_str()));
    start = comma + 1;
  }
  return out;
}

// Microseconds per plane of an r2c + c2r pair in FFTW_MEASURE plans over
// `planes` nx x nx planes.
double plane_cost(std::int64_t nx, int planes, double seconds) {
  const int n[2] = {static_cast<int>(nx), static_cast<int>(nx)};
  const int real_plane = n[0] * n[1], complex_plane = n[0] * (n[1] / 2 + 1);
  auto real = assim::qg::real_array(static_cast<std::size_t>(planes) * real_plane);
  auto spectral = assim::qg::complex_array(static_cast<std::size_t>(planes) * complex_plane);
  fftw_plan forward = fftw_plan_many_dft_r2c(2, n, planes, real.get(), nullptr, 1, real_plane, spectral.get(),
                                             nullptr, 1, complex_plane, FFTW_MEASURE);
  fftw_plan inverse = fftw_plan_many_dft_c2r(2, n, planes, spectral.get(), nullptr, 1, complex_plane, real.get(),
                                             nullptr, 1, real_plane, FFTW_MEASURE);
  std::fill(real.get(), real.get() + static_cast<std::size_t>(planes) * real_plane, 0.0);
  auto pair = [&] {
    fftw_execute(forward);
    fftw_execute(inverse);
  };
  const double t = seconds_per_call(pair, pair, seconds).first;
  fftw_destroy_plan(forward);
  fftw_destroy_plan(inverse);
  return t / planes * 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  assim::qg::Planning planning = assim::qg::Planning::Measure;
  double seconds = 1.0;
  int threads = 1;
  std::string wisdom;
  bool planes = false;
  std::vector<std::int64_t> sizes, batches = {1, 16};
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--estimate") {
      planning = assim::qg::Planning::Estimate;
    } else if (arg == "--wisdom" && i + 1 < argc) {
      planning = assim::qg::Planning::Wisdom;
      wisdom = argv[++i];
    } else if (arg == "--seconds" && i + 1 < argc) {
      seconds = std::atof(argv[++i]);
    } else if (arg == "--threads" && i + 1 < argc) {
      threads = std::max(1, std::atoi(argv[++i]));
    } else if (arg == "--planes") {
      planes = true;
    } else if (arg == "--members" && i + 1 < argc) {
      batches = numbers(argv[++i]);
    } else if (!arg.empty() && arg[0] != '-') {
      sizes.push_back(std::atoll(arg.c_str()));
    } else {
      std::fprintf(stderr,
                   "usage: %s [--estimate | --wisdom FILE] [--seconds S] [--threads T] [--members 1,16] [nx ...]\n",
                   argv[0]);
      return 2;
    }
  }
  if (sizes.empty()) sizes = {64, 128, 256, 512};
  if (planes) {
    std::printf("FFTW %s, FFTW_MEASURE, one thread: microseconds per plane of one r2c + one c2r\n", fftw_version);
    std::printf("%5s %12s %12s %12s\n", "nx", "4 planes", "16 planes", "64 planes");
    for (std::int64_t nx : sizes) {
      std::printf("%5lld", static_cast<long long>(nx));
      for (int count : {4, 16, 64}) std::printf(" %12.2f", plane_cost(nx, count, seconds));
      std::printf("\n");
    }
    return 0;
  }
  try {
    if (!wisdom.empty()) assim::qg::import_wisdom(wisdom);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", argv[0], e.what());
    return 1;
  }

  const char* plan_name = planning == assim::qg::Planning::Measure    ? "FFTW_MEASURE"
                          : planning == assim::qg::Planning::Estimate ? "FFTW_ESTIMATE"
                                                                      : "wisdom";
  std::printf("FFTW %s, planning %s, %d thread(s) over members, floor on one, %.1f s per measurement\n", fftw_version,
              plan_name, threads, seconds);
  std::printf("%5s %7s %8s %13s %15s %10s %10s\n", "nx", "members", "dt [s]", "ms/step/mem", "member-steps/s",
              "floor [ms]", "step/floor");
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

    for (std::int64_t members : batches) {
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
      // Whole blocks of steps per call, as a long run advances; the floor on
      // one thread, the stepper on `threads`.
      auto block = [&] {
        omp_set_num_threads(threads);
        stepper.advance(q.get(), assim::qg::Stepper::block);
        omp_set_num_threads(1);
      };
      block();
      const auto [floor, per_block] = seconds_per_call(ten_ffts, block, seconds);
      const double step = per_block / assim::qg::Stepper::block / static_cast<double>(members);
      std::printf("%5lld %7lld %8.0f %13.4f %15.0f %10.4f %10.2f\n", static_cast<long long>(nx),
                  static_cast<long long>(members), p.dt, step * 1e3, 1.0 / step, floor * 1e3, step / floor);
      std::fflush(stdout);
    }
  }
  return 0;
}
