// Speed of the prior.score_unet network on the CPU: training samples/s
// (forward + backward + AdamW step, the inner loop of ScorePrior::fit) and
// denoiser evaluations/s (no-grad forward), at batch 1 and 8, on 1 and 2
// threads, for each way of computing it (--compute: nchw-fp32 is PyTorch's
// default, nhwc-fp32 channels-last, nhwc-bf16 channels-last with bf16
// autocast, nchw-bf16; auto: what `precision: auto` picks, measured at each
// threads and batch as a fit measures, printed with its timings).
// score_prior_bench.py runs this and the same network in PyTorch (fp32, NCHW)
// and prints the ratios (README.md).
//
//   score_prior_bench [--channels 16,32,64] [--blocks 2] [--kernel 3] [--grid 64]
//                     [--window 9] [--seconds 3] [--compute nchw-fp32,nhwc-fp32,nhwc-bf16,auto]
#include "unet.hpp"

#include <assim/diffusion.hpp>
#include <assim/process.hpp>

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <stdexcept>
#include <sstream>
#include <string>
#include <vector>

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

// Floating-point operations of one forward pass over a window (2 per
// multiply-add of every convolution and of the embedding; the element-wise
// work is not counted): what "fraction of the machine's peak" divides.
double forward_flops(const assim::score_prior::Architecture& a, std::int64_t frames) {
  const bool row = a.height == 1;
  const double taps = static_cast<double>(a.kernel) * static_cast<double>(row ? 1 : a.kernel);
  auto pixels = [&](std::size_t level) {
    const double shrink = static_cast<double>(std::int64_t{1} << level);
    return (row ? 1.0 : static_cast<double>(a.height) / shrink) * static_cast<double>(a.width) / shrink;
  };
  auto conv = [](double in, double out, double k, double px) { return 2 * in * out * k * px; };
  const double c0 = static_cast<double>(a.channels.front());
  double f = conv(static_cast<double>(a.channels_in + (a.positional ? 4 : 0)), c0, taps, pixels(0)) +
             conv(c0, static_cast<double>(a.outputs()), taps, pixels(0));
  for (std::size_t i = 0; i < a.channels.size(); ++i) {
    const double c = static_cast<double>(a.channels[i]), px = pixels(i);
    f += 2 * static_cast<double>(a.blocks) * (conv(c, 4 * c, taps, px) + conv(4 * c, c, 1, px));
    if (i > 0) f += conv(static_cast<double>(a.channels[i - 1]), c, taps, px) + 2 * (conv(c, 4 * c, 3, px) + conv(4 * c, c, 1, px));
    if (i + 1 < a.channels.size()) f += conv(static_cast<double>(a.channels[i + 1]), c, taps, px);
  }
  const double embedding = a.timed ? 2.0 * (2 * a.frequencies * a.hidden + a.hidden * a.embedding) : 0;
  return static_cast<double>(frames) * f + embedding;
}

// The machine's attainable rate for this work: the best of a few forward
// passes of a large channels-last 3 x 3 convolution (64 -> 256 channels,
// 72 planes of 32 x 32) in float32, in GFLOP/s, on the current threads.
double convolution_peak() {
  torch::NoGradGuard no_grad;
  torch::nn::Conv2d conv(torch::nn::Conv2dOptions(64, 256, 3).padding(1));
  conv->weight.set_data(conv->weight.contiguous(torch::MemoryFormat::ChannelsLast));
  const auto x = torch::randn({72, 64, 32, 32}).contiguous(torch::MemoryFormat::ChannelsLast);
  conv->forward(x);
  double best = 1e300;
  for (int i = 0; i < 5; ++i) {
    const auto start = clock_type::now();
    conv->forward(x);
    best = std::min(best, std::chrono::duration<double>(clock_type::now() - start).count());
  }
  return 2.0 * 64 * 256 * 9 * 72 * 32 * 32 / best / 1e9;
}

}  // namespace

int main(int argc, char** argv) {
  assim::prepare_process();  // as the host does: malloc policy, ATen's AVX-512 kernels where the CPU has them
  assim::score_prior::Architecture a;
  a.channels = {16, 32, 64};
  a.blocks = 2;
  a.kernel = 3;
  std::int64_t window = 9;
  double seconds = 3;
  std::vector<std::string> computes = {"nchw-fp32", "nhwc-fp32", "nhwc-bf16"};
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
    } else if (key == "--compute") {
      computes.clear();
      std::stringstream in(value);
      std::string c;
      while (std::getline(in, c, ',')) computes.push_back(c);
    } else {
      std::fprintf(stderr, "unknown option %s\n", key.c_str());
      return 2;
    }
  }
  a.channels_in = 2;
  std::printf("forward_gflop_per_window %.4f\n", forward_flops(a, window) / 1e9);
  for (int threads : {1, 2}) {
    torch::set_num_threads(threads);
    std::printf("peak threads %d gflops %.1f\n", threads, convolution_peak());
  }
  std::printf("parameters %lld\n", static_cast<long long>(assim::score_prior::UNet(a)->parameter_count()));
  for (const std::string& name : computes) {
    // "auto": what precision: auto (layout channels_last) picks, decided at
    // each (threads, batch) as a fit would, once per process; the others as named.
    const bool automatic = name == "auto";
    assim::score_prior::Compute fixed;
    if (!automatic) {
      try {
        fixed = assim::score_prior::compute_named(name);
      } catch (const std::invalid_argument&) {
        std::fprintf(stderr, "unknown --compute %s (nchw-fp32, nhwc-fp32, nhwc-bf16, nchw-bf16, auto)\n", name.c_str());
        return 2;
      }
    }
    // One network and optimiser per way of computing, all from the same seed.
    struct Net {
      assim::score_prior::UNet net{nullptr};
      std::unique_ptr<torch::optim::AdamW> optimiser;
    };
    std::map<std::string, Net> nets;
    auto net_for = [&](const assim::score_prior::Compute& compute) -> Net& {
      Net& n = nets[compute.name()];
      if (!n.net) {
        torch::manual_seed(0);
        n.net = assim::score_prior::UNet(a, compute);
        n.optimiser = std::make_unique<torch::optim::AdamW>(n.net->parameters(),
                                                            torch::optim::AdamWOptions(1e-4).weight_decay(1e-5));
      }
      return n;
    };
    assim::score_prior::Compute settings;
    settings.auto_precision = true;
    const assim::CosineSchedule schedule;
    for (int threads : {1, 2}) {
      torch::set_num_threads(threads);
      for (std::int64_t batch : {1, 8}) {
        assim::score_prior::Compute for_training = fixed, for_denoising = fixed;
        if (automatic) {
          const auto training = assim::score_prior::choose_compute(a, settings, {true, batch, window});
          const auto denoising = assim::score_prior::choose_compute(a, settings, {false, batch, window});
          for_training = training.compute;
          for_denoising = denoising.compute;
          std::printf("auto threads %d batch %lld fit %s\nauto threads %d batch %lld sampling %s\n", threads,
                      static_cast<long long>(batch), training.text().c_str(), threads, static_cast<long long>(batch),
                      denoising.text().c_str());
        }
        Net& trained = net_for(for_training);
        Net& denoiser = net_for(for_denoising);
        const auto x = torch::randn({batch, window, a.channels_in, a.height, a.width});
        const double train = rate(
            [&] {
              const auto t = torch::rand({batch}), eps = torch::randn_like(x);
              const auto loss = (trained.net->forward(schedule.noise(x, eps, t), t) - eps).square().mean();
              trained.optimiser->zero_grad();
              loss.backward();
              trained.optimiser->step();
            },
            batch, seconds);
        const double denoise = rate(
            [&] {
              torch::NoGradGuard no_grad;
              denoiser.net->forward(x, torch::rand({batch}));
            },
            batch, seconds);
        std::printf("compute %s threads %d batch %lld train %.3f denoise %.3f chose %s %s\n", name.c_str(), threads,
                    static_cast<long long>(batch), train, denoise, for_training.name().c_str(),
                    for_denoising.name().c_str());
        std::fflush(stdout);
      }
    }
  }
  return 0;
}
