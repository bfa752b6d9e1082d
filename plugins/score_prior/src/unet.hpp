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
// matrix products in bfloat16 with float32 weights, which pays only where the
// CPU has bf16 instructions (emulated, it was 3x slower).
enum class Precision { fp32, bf16 };
struct Compute {
  bool channels_last = true;
  Precision precision = Precision::fp32;
  std::string text() const;  // "fp32, channels-last", for logs
};

// Whether this CPU computes in bfloat16 natively (AVX512_BF16 or AMX-BF16).
bool cpu_has_bf16();
// The settings `precision` (auto | fp32 | bf16) and `layout` (channels_last |
// nchw), declared once for every component built on the network, and what
// they resolve to here (auto: bf16 where cpu_has_bf16, else fp32).
void add_compute_fields(assim::Parameters& parameters);
Compute read_compute(const assim::Config& config);

class UNetImpl : public torch::nn::Module {
 public:
  explicit UNetImpl(const Architecture& a, const Compute& compute = {});
  // z_t (B, L, C, H, W), t (B) -> eps_hat (B, L, C_out, H, W); t undefined when not timed.
  torch::Tensor forward(const torch::Tensor& z_t, const torch::Tensor& t);
  std::int64_t parameter_count() const;
  const Compute& compute() const { return compute_; }

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

}  // namespace assim::score_prior
