// Speed of the prior.score_unet network on the CPU: training samples/s
// (forward + backward + AdamW step, the inner loop of ScorePrior::fit) and
// denoiser evaluations/s (no-grad forward), at batch 1 and 8, on 1 and 2
// threads. score_prior_bench.py runs this and the same network in PyTorch
// and prints the ratios (README.md).
//
//   score_prior_bench [--channels 16,32,64] [--blocks 2] [--kernel 3] [--grid 64]
//                     [--window 9] [--seconds 3]
#include "unet.hpp"

#include <assim/diffusion.hpp>

#include <torch/torch.h>

#include <malloc.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>

namespace {

using clock_type = std::chrono::steady_clock;

// Repeats `work` (which handles `per_call` samples) for about `seconds` after a
// warm-up; returns samples per second.
template <class Work>
double rate(Work work, std::int64_t per_call, double seconds) {
  for (int i = 0; i < 2; ++i) work();
  const auto start = clock_type::now();
  std::int64_t calls = 0;
  double elapsed = 0;
  while (elapsed < seconds || calls < 3) {
    work();
    ++calls;
    elapsed = std::chrono::duration<double>(clock_type::now() - start).count();
  }
  return static_cast<double>(calls * per_call) / elapsed;
}

}  // namespace

int main(int argc, char** argv) {
  mallopt(M_MMAP_THRESHOLD, 256 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  assim::score_prior::Architecture a;
  a.channels = {16, 32, 64};
  a.blocks = 2;
  a.kernel = 3;
  std::int64_t window = 9;
  double seconds = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string key = argv[i], value = argv[i + 1];
    if (key == "--channels") {
      a.channels.clear();
      std::stringstream in(value);
      std::string c;
      while (std::getline(in, c, ',')) a.channels.push_back(std::stoll(c));
    } else if (key == "--blocks") {
      a.blocks = std::stoll(value);
    } else if (key == "--kernel") {
      a.kernel = std::stoll(value);
    } else if (key == "--grid") {
      a.height = a.width = std::stoll(value);
    } else if (key == "--window") {
      window = std::stoll(value);
    } else if (key == "--seconds") {
      seconds = std::stod(value);
    } else {
      std::fprintf(stderr, "unknown option %s\n", key.c_str());
      return 2;
    }
  }
  torch::manual_seed(0);
  assim::score_prior::UNet net(a);
  std::printf("parameters %lld\n", static_cast<long long>(net->parameter_count()));
  const assim::CosineSchedule schedule;
  torch::optim::AdamW optimiser(net->parameters(), torch::optim::AdamWOptions(1e-4).weight_decay(1e-5));
  for (int threads : {1, 2}) {
    torch::set_num_threads(threads);
    for (std::int64_t batch : {1, 8}) {
      const auto x = torch::randn({batch, window, a.channels_in, a.height, a.width});
      const double train = rate(
          [&] {
            const auto t = torch::rand({batch}), eps = torch::randn_like(x);
            const auto loss = (net->forward(schedule.noise(x, eps, t), t) - eps).square().mean();
            optimiser.zero_grad();
            loss.backward();
            optimiser.step();
          },
          batch, seconds);
      const double denoise = rate(
          [&] {
            torch::NoGradGuard no_grad;
            net->forward(x, torch::rand({batch}));
          },
          batch, seconds);
      std::printf("threads %d batch %lld train %.3f denoise %.3f\n", threads, static_cast<long long>(batch), train,
                  denoise);
      std::fflush(stdout);
    }
  }
  return 0;
}
