// The temporal U-Net denoiser of SDA and SOAD (reference doc, "Denoiser
// network"): a 2-D U-Net applied per frame (frames folded into the batch)
// with temporal blocks that mix neighbouring frames, conditioned on the
// diffusion time through a Fourier-feature embedding. Without the time
// (`timed` false) the same network is the learned estimator x = F_w(y).
#pragma once

#include <assim/config.hpp>
#include <assim/fields.hpp>
#include <assim/parameters.hpp>

#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace assim::score_prior {

// Everything that fixes the network's parameter shapes; a checkpoint that
// disagrees with it cannot be loaded.
struct Architecture {
  std::int64_t channels_in = 2;    // z channels: state, plus H(x) when augmented
  std::vector<std::int64_t> channels{16, 32, 64};  // per level
  std::int64_t blocks = 2;         // residual blocks per level, on each side
  std::int64_t kernel = 3;         // spatial kernel (odd)
  std::int64_t frequencies = 16;   // k = 1..F in [cos(pi k t), sin(pi k t)]
  std::int64_t hidden = 256;       // embedding MLP width
  std::int64_t embedding = 64;     // embedding size fed to every block
  bool positional = false;         // 4 fixed cos/sin channels of the grid (SDA-QG)
  std::int64_t height = 64, width = 64;
  bool timed = true;               // conditioned on the diffusion time (a denoiser); false: no embedding
  std::int64_t channels_out = 0;   // output channels; 0: channels_in (a denoiser predicts z's noise)

  std::int64_t outputs() const { return channels_out > 0 ? channels_out : channels_in; }

  // (name, value) pairs for checkpoints and mismatch messages.
  std::vector<std::pair<std::string, std::vector<std::int64_t>>> fields() const;
  // The network's parameter count, computed without building it (in double:
  // absurd settings must give a large number, not an overflow), so that a
  // network the machine cannot hold is refused before it is allocated.
  double parameter_estimate() const;
};

// A state frame as the 2-D network sees it: [channels, y, x] as it is,
// [y, x] with one channel, [sites] as one row of one channel. Throws
// std::invalid_argument for other ranks.
struct GridShape {
  std::int64_t channels = 1, height = 1, width = 1;
};
GridShape grid_shape(const std::vector<std::int64_t>& state_shape);

// The settings of the network's body (channels per level, blocks, kernel,
// positional channels), declared once for every component built on it.
void add_network_fields(assim::Fields<Architecture>& fields);
// Refuses a body the grid (height, width, set by then) cannot carry.
void check_network(const assim::Config& config, const Architecture& architecture);

// LayerNorm over the channels of each pixel: (N, c, H, W), learnable gain and bias per channel.
class ChannelNormImpl : public torch::nn::Module {
 public:
  explicit ChannelNormImpl(std::int64_t channels);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::Tensor weight_, bias_;
};
TORCH_MODULE(ChannelNorm);

// y = x + R(x + Linear(emb)), R = norm -> conv k x k c->4c -> SiLU -> conv 1x1 4c->c;
// embedding 0: no time, y = x + R(x). `row`: a grid of one row, convolved along x.
class ResidualBlockImpl : public torch::nn::Module {
 public:
  ResidualBlockImpl(std::int64_t channels, std::int64_t embedding, std::int64_t kernel, bool row);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& emb);

 private:
  torch::nn::Linear project_{nullptr};
  ChannelNorm norm_{nullptr};
  torch::nn::Conv2d expand_{nullptr}, contract_{nullptr};
};
TORCH_MODULE(ResidualBlock);

// Mixes frames: (B*L, c, H, W) -> (B*H*W, c, L), Conv1d c->4c k=3 (zero
// padded) -> SiLU -> Conv1d 4c->c k=1, residual. Each adds +-1 frame of reach.
class TemporalBlockImpl : public torch::nn::Module {
 public:
  explicit TemporalBlockImpl(std::int64_t channels);
  torch::Tensor forward(const torch::Tensor& x, std::int64_t frames);

 private:
  torch::nn::Conv1d expand_{nullptr}, contract_{nullptr};
};
TORCH_MODULE(TemporalBlock);

// How the network computes, not what: the same weights and the same function
// up to rounding (bench/score_prior/README.md has the measurements).
// Channels-last (NHWC) lets oneDNN's convolutions skip reorders and makes the
// channel norm one fused layer_norm; bf16 autocast runs convolutions and
// matrix products in bfloat16 with float32 weights. Which is faster depends
// on the machine, not on its CPU flags alone: with AVX512_BF16, bf16 trained
// 1.4-1.6x faster than fp32 on an AMD EPYC (Zen 4) and 1.3-1.5x slower on an
// Intel Xeon; emulated (no bf16 instructions) it was 3x slower. So `auto`
// measures (choose_compute below).
enum class Precision { fp32, bf16 };
struct Compute {
  bool channels_last = true;
  Precision precision = Precision::fp32;
  // Settings of `auto` (precision or layout): what is above is the preferred
  // candidate, in force until a fit measures the candidates or a load reads
  // the fit's choice.
  bool auto_precision = false, auto_layout = false;
  std::string text() const;  // "fp32, channels-last", for logs
  std::string name() const;  // "nhwc-fp32", "nchw-bf16": what the fit stores, as the bench's --compute
};
// The Compute a name() denotes (not automatic); throws std::invalid_argument for another text.
Compute compute_named(const std::string& name);

// The settings `precision` (auto | fp32 | bf16) and `layout` (channels_last |
// nchw | auto), declared once for every component built on the network (the
// rule of `auto` is in their documentation and at choose_compute).
void add_compute_fields(assim::Parameters& parameters);
Compute read_compute(const assim::Config& config);

// ---- precision: auto, layout: auto ----------------------------------------
//
// The rule: measure each candidate way of computing at the shapes that will
// run (batch, window, channels, grid, the process's threads), a training step
// (forward, backward, AdamW step) for the fit and a no-grad forward for the
// sampling, and take the first candidate in the order of preference (fp32
// before bf16, channels-last before NCHW) whose time is within
// `preference_margin` (5 %) of the fastest. fp32 is preferred because it is
// the more exact; the margin keeps `auto` within 5 % of the best (the goal of
// issue 40) while a choice flips between two runs only where a candidate's
// time lies within the measurement's noise of that 5 % boundary (the
// machines measured so far were 30-60 % away from it). Measured once per
// process per shape and kept for the process; nothing is written outside the
// run. The fit stores what it chose with the weights (model.pt's settings,
// precision.txt beside it): sampling with the fitted network uses the stored
// choice unless the settings name a precision or layout, so an assimilation's
// numbers depend on the train result's bytes, not on a new timing.
constexpr double preference_margin = 1.05;

// What a measurement ran: a training step or a denoiser evaluation of `batch` windows of `frames`.
struct Workload {
  bool training = true;
  std::int64_t batch = 1, frames = 1;
};

// The candidates a Compute's settings leave, in the order of preference.
std::vector<Compute> candidates(const Compute& settings);
// The rule above, given each candidate's seconds per call (same order).
std::size_t choose(const std::vector<double>& seconds);

struct Choice {
  Compute compute;              // the one chosen (not automatic)
  std::vector<Compute> candidates;
  std::vector<double> seconds;  // best seconds per call of each candidate; empty when nothing was measured
  Workload workload;            // what was measured, on how many threads
  int threads = 1;
  std::string unmeasured = "as set";  // why nothing was measured (seconds empty)
  // "bf16 autocast, channels-last (training step of 8 windows of 9 frames on 1 thread: nhwc-fp32 0.41 s, nhwc-bf16 0.27 s)"
  std::string text() const;
};
// The seconds per call of each candidate at the workload, best of a few
// alternating repetitions after a warm-up, on networks built for the purpose
// (the caller's network, its weights and torch's random state are untouched).
std::vector<double> time_candidates(const Architecture& a, const std::vector<Compute>& candidates, const Workload& w);
// The settings resolved for the workload: as set where nothing is automatic,
// else measured (time_candidates, choose) once per process per architecture,
// candidates, workload and thread count.
Choice choose_compute(const Architecture& a, const Compute& settings, const Workload& w);

// What a fit computes in and what the fitted network is sampled in.
struct FitCompute {
  Choice fit, sampling;
  // precision.txt: "fit: NAME", "sampling: NAME" and the measurements as comments.
  std::string record;
};
// The choices of a fit: `training` at its batch and window, `sampling` at
// the shapes the fitted network is expected to run at. A fit that resumes
// (its checkpoints folder holds precision.txt) keeps the choice it started
// with, so that it goes on on the same curve; a new fit writes it there
// before its first step.
// Timings are taken on the CPU: on another device `auto` is the preferred
// candidate (fp32), unmeasured.
FitCompute fit_compute(const Architecture& a, const Compute& settings, const Workload& training,
                       const Workload& sampling, const std::filesystem::path& checkpoints,
                       const torch::Device& device = torch::kCPU);
// The component's settings (YAML) with the fit's choice added as
// `compute_chosen: {fit: NAME, sampling: NAME}`: what the fit writes into its files.
std::string settings_with_choice(const std::string& settings, const FitCompute& chosen);
// How a network loaded from <folder>/model.pt computes: the settings where
// they name both precision and layout, else the sampling choice stored there
// by the fit (the settings' preferred candidate for a file without one, with
// a warning).
Compute loaded_compute(const Compute& settings, const std::filesystem::path& folder, const std::string& who);

class UNetImpl : public torch::nn::Module {
 public:
  explicit UNetImpl(const Architecture& a, const Compute& compute = {});
  // z_t (B, L, C, H, W), t (B) -> eps_hat (B, L, C_out, H, W); t undefined when not timed.
  torch::Tensor forward(const torch::Tensor& z_t, const torch::Tensor& t);
  std::int64_t parameter_count() const;
  const Compute& compute() const { return compute_; }
  const Architecture& architecture() const { return a_; }

 private:
  torch::Tensor embed(const torch::Tensor& t);
  torch::Tensor body(const torch::Tensor& z_t, const torch::Tensor& t);

  Architecture a_;
  Compute compute_;
  torch::nn::Linear embed_in_{nullptr}, embed_out_{nullptr};
  torch::nn::Conv2d head_{nullptr}, tail_{nullptr};
  torch::nn::ModuleList down_, up_;            // stride-2 convs (level > 0); convs after upsampling (level < n-1)
  std::vector<std::vector<ResidualBlock>> down_blocks_, up_blocks_;
  std::vector<TemporalBlock> down_time_, up_time_;  // index = level, empty module at level 0
  torch::Tensor grid_;                         // (4, H, W) positional channels, when used
};
TORCH_MODULE(UNet);

// A network whose initial weights are the seed's. LibTorch's layers draw them
// from its global generator; fits run side by side on workers, and a seed set
// on one thread would be drawn from by another, so seeding and every
// network's construction hold one lock.
UNet seeded_network(const Architecture& a, const Compute& compute, std::uint64_t seed);

// `net`'s weights and buffers in a network that computes as `compute` (`net` itself when it already does).
UNet computing_as(const UNet& net, const Compute& compute);

}  // namespace assim::score_prior
