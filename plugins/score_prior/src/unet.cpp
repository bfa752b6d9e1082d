#include "unet.hpp"

#include <assim/shape.hpp>

#include <ATen/autocast_mode.h>

#include <cmath>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>

namespace assim::score_prior {

namespace F = torch::nn::functional;

std::vector<std::pair<std::string, std::vector<std::int64_t>>> Architecture::fields() const {
  std::vector<std::pair<std::string, std::vector<std::int64_t>>> f = {
      {"channels_in", {channels_in}}, {"channels", channels}, {"blocks", {blocks}}, {"kernel", {kernel}}};
  if (timed) {
    f.push_back({"frequencies", {frequencies}});
    f.push_back({"hidden", {hidden}});
    f.push_back({"embedding", {embedding}});
  }
  f.push_back({"positional", {positional ? 1 : 0}});
  f.push_back({"grid", {height, width}});
  // A denoiser's checkpoints, written before the estimator existed, lack these.
  if (!timed) f.push_back({"timed", {0}});
  if (outputs() != channels_in) f.push_back({"channels_out", {outputs()}});
  return f;
}

double Architecture::parameter_estimate() const {
  const double k2 = static_cast<double>(kernel) * static_cast<double>(height == 1 ? 1 : kernel);
  const double e = timed ? static_cast<double>(embedding) : 0;
  auto conv = [](double in, double out, double taps) { return in * out * taps + out; };
  // Projection of the embedding, ChannelNorm, expand (k x k), contract (1 x 1).
  auto residual = [&](double c) { return (timed ? e * c + c : 0) + 2 * c + conv(c, 4 * c, k2) + conv(4 * c, c, 1); };
  auto temporal = [&](double c) { return conv(c, 4 * c, 3) + conv(4 * c, c, 1); };
  const double f = static_cast<double>(frequencies), h = static_cast<double>(hidden);
  const double in = static_cast<double>(channels_in), c0 = static_cast<double>(channels.front());
  double n = (timed ? (2 * f * h + h) + (h * e + e) : 0) + conv(in + (positional ? 4 : 0), c0, k2) +
             conv(c0, static_cast<double>(outputs()), k2);
  for (std::size_t i = 0; i < channels.size(); ++i) {
    const double c = static_cast<double>(channels[i]);
    if (i > 0) n += conv(static_cast<double>(channels[i - 1]), c, k2) + 2 * temporal(c);
    if (i + 1 < channels.size()) n += conv(static_cast<double>(channels[i + 1]), c, k2);
    n += 2 * static_cast<double>(blocks) * residual(c);
  }
  return n;
}

std::string Compute::text() const {
  return std::string(precision == Precision::bf16 ? "bf16 autocast" : "fp32") +
         (channels_last ? ", channels-last" : ", NCHW");
}

bool cpu_has_bf16() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("flags", 0) != 0) continue;
    std::istringstream words(line);
    std::string flag;
    while (words >> flag)
      if (flag == "avx512_bf16" || flag == "amx_bf16") return true;
    return false;
  }
  return false;
}

void add_compute_fields(assim::Parameters& p) {
  p.string("precision", "auto", "",
           "auto: bf16 autocast where the CPU has bf16 instructions (AVX512_BF16, AMX), else fp32; fp32; bf16 "
           "(float32 weights, bfloat16 convolutions and products)")
      .one_of({"auto", "fp32", "bf16"});
  p.string("layout", "channels_last", "",
           "memory layout of the feature maps: channels_last (faster with oneDNN on a CPU) or nchw")
      .one_of({"channels_last", "nchw"});
}

Compute read_compute(const assim::Config& config) {
  Compute c;
  const std::string precision = config.get<std::string>("precision");
  c.precision = precision == "bf16" || (precision == "auto" && cpu_has_bf16()) ? Precision::bf16 : Precision::fp32;
  c.channels_last = config.get<std::string>("layout") == "channels_last";
  return c;
}

GridShape grid_shape(const std::vector<std::int64_t>& s) {
  if (s.empty() || s.size() > 3) throw std::invalid_argument("needs 1 to 3 entries: [channels, y, x], [y, x] or [sites]");
  const auto c = assim::with_channel_axis(s);
  return c.size() == 2 ? GridShape{c[0], 1, c[1]} : GridShape{c[0], c[1], c[2]};
}

void add_network_fields(assim::Fields<Architecture>& p) {
  p.integers("channels", &Architecture::channels, "", "U-Net channels per level (levels = entries)").at_least(1);
  p.integer("blocks", &Architecture::blocks, "", "residual blocks per level on each side of the U-Net").at_least(1);
  p.integer("kernel", &Architecture::kernel, "cells", "spatial convolution kernel size (odd); the papers use 5")
      .at_least(1);
  p.boolean("positional", &Architecture::positional,
            "append 4 fixed channels cos/sin(2 pi i/n), cos/sin(2 pi j/n) (SDA-QG); breaks translation "
            "equivariance, which homogeneous QG turbulence does not need");
}

void check_network(const assim::Config& config, const Architecture& a) {
  if (a.channels.empty()) config.fail("channels", "needs at least one level");
  if (a.kernel % 2 == 0) config.fail("kernel", "must be odd so that the padding centres it");
  // Each level below the first halves the grid with a stride-2 convolution.
  // (A grid of one row is halved along x only.)
  const std::int64_t factor = std::int64_t{1} << (a.channels.size() - 1);
  if ((a.height > 1 && a.height % factor != 0) || a.width % factor != 0)
    config.fail("state_shape", std::string(a.height > 1 ? "y and x" : "the sites") + " must be divisible by " +
                                   std::to_string(factor) + " for " + std::to_string(a.channels.size()) + " U-Net levels");
}

namespace {
// Periodic domains: circular padding keeps the network translation
// equivariant on the torus (reference: "circular padding").
// A grid of one row (a 1-D grid such as Lorenz-96's sites) is convolved and
// strided along x only: circular padding cannot wrap a row onto itself.
// The convolution itself has no padding; `periodic` pads its input.
torch::nn::Conv2d conv(std::int64_t in, std::int64_t out, std::int64_t kernel, bool row, std::int64_t stride = 1) {
  const std::int64_t rows = row ? 1 : kernel;
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, {rows, kernel}).stride({row ? 1 : stride, stride}));
}

// The convolution of x wrapped periodically by half its kernel on each side.
// Two concatenations keep x's memory layout, where LibTorch's circular pad
// returns NCHW, which a channels-last convolution then reorders (1.5x the
// cost of a 16-channel 3 x 3 convolution with its backward, bench/score_prior).
torch::Tensor periodic(torch::nn::Conv2dImpl& conv, torch::Tensor x) {
  const auto& k = conv.options.kernel_size();
  const std::int64_t py = k->at(0) / 2, px = k->at(1) / 2;
  if (px > 0) x = torch::cat({x.narrow(3, x.size(3) - px, px), x, x.narrow(3, 0, px)}, 3);
  if (py > 0) x = torch::cat({x.narrow(2, x.size(2) - py, py), x, x.narrow(2, 0, py)}, 2);
  return conv.forward(x);
}

// SiLU of a bfloat16 tensor computed in float32, its gradient too: ATen
// 1.13's bfloat16 SiLU is 2.4x (forward) and 4x (backward) slower than its
// float32 one on the same tensor, more than both conversions cost (64
// channels, 72 x 32 x 32, AVX-512 kernels: 5.3 and 10.8 ms against 2.2 and
// 2.7 ms, a conversion 0.6 ms). The result is the float32 SiLU rounded to
// bfloat16, as ATen's own computes it inside.
struct Float32Silu : torch::autograd::Function<Float32Silu> {
  static torch::Tensor forward(torch::autograd::AutogradContext* context, const torch::Tensor& x) {
    context->save_for_backward({x});
    return torch::silu(x.to(torch::kFloat)).to(x.scalar_type());
  }
  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* context,
                                               const torch::autograd::tensor_list& gradient) {
    const auto x = context->get_saved_variables()[0];
    return {at::silu_backward(gradient[0].to(torch::kFloat), x.to(torch::kFloat)).to(x.scalar_type())};
  }
};

torch::Tensor silu_float32_inside(const torch::Tensor& x) {
  return x.scalar_type() == torch::kBFloat16 ? Float32Silu::apply(x) : torch::silu(x);
}
}  // namespace

ChannelNormImpl::ChannelNormImpl(std::int64_t channels) {
  weight_ = register_parameter("weight", torch::ones({channels}));
  bias_ = register_parameter("bias", torch::zeros({channels}));
}

// (x - mean) / sqrt(var + 1e-5) * weight + bias over the channels, as one
// fused layer_norm on the (N, H, W, C) view: a view without a copy when x is
// channels-last. Under bf16 autocast the statistics are taken in float32
// (the weights' type), as autocast does for its own normalisations.
torch::Tensor ChannelNormImpl::forward(const torch::Tensor& x) {
  const auto pixels = x.permute({0, 2, 3, 1}).to(weight_.scalar_type());
  return torch::layer_norm(pixels, {pixels.size(3)}, weight_, bias_, 1e-5).permute({0, 3, 1, 2});
}

ResidualBlockImpl::ResidualBlockImpl(std::int64_t c, std::int64_t embedding, std::int64_t kernel, bool row) {
  if (embedding > 0) project_ = register_module("project", torch::nn::Linear(embedding, c));
  norm_ = register_module("norm", ChannelNorm(c));
  expand_ = register_module("expand", conv(c, 4 * c, kernel, row));
  contract_ = register_module("contract", conv(4 * c, c, 1, row));
}

torch::Tensor ResidualBlockImpl::forward(const torch::Tensor& x, const torch::Tensor& emb) {
  torch::Tensor h;
  if (project_) {
    const auto e = project_(emb);
    h = norm_(x + e.view({e.size(0), e.size(1), 1, 1}));
  } else {
    h = norm_(x);
  }
  h = contract_(silu_float32_inside(periodic(*expand_, h)));
  return x + h;
}

TemporalBlockImpl::TemporalBlockImpl(std::int64_t c) {
  expand_ = register_module("expand", torch::nn::Conv1d(torch::nn::Conv1dOptions(c, 4 * c, 3).padding(1)));
  contract_ = register_module("contract", torch::nn::Conv1d(torch::nn::Conv1dOptions(4 * c, c, 1)));
}

torch::Tensor TemporalBlockImpl::forward(const torch::Tensor& x, std::int64_t frames) {
  const std::int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3), b = n / frames;
  auto y = x.view({b, frames, c, h, w}).permute({0, 3, 4, 2, 1}).reshape({b * h * w, c, frames});
  y = contract_(silu_float32_inside(expand_(y)));
  // Back in x's memory layout (NCHW or channels-last) with one copy.
  auto back = torch::empty_like(x, x.options().dtype(y.scalar_type()));
  back.view({b, frames, c, h, w}).copy_(y.view({b, h, w, c, frames}).permute({0, 4, 3, 1, 2}));
  return x + back;
}

namespace {

std::recursive_mutex& global_generator() {
  static std::recursive_mutex mutex;
  return mutex;
}

}  // namespace

UNet seeded_network(const Architecture& a, const Compute& compute, std::uint64_t seed) {
  const std::lock_guard<std::recursive_mutex> lock(global_generator());
  torch::manual_seed(seed);
  return UNet(a, compute);
}

UNetImpl::UNetImpl(const Architecture& a, const Compute& compute) : a_(a), compute_(compute) {
  const std::lock_guard<std::recursive_mutex> lock(global_generator());  // seeded_network
  const auto levels = static_cast<std::int64_t>(a.channels.size());
  const std::int64_t k = a.kernel;
  if (a.timed) {
    embed_in_ = register_module("embed_in", torch::nn::Linear(2 * a.frequencies, a.hidden));
    embed_out_ = register_module("embed_out", torch::nn::Linear(a.hidden, a.embedding));
  }
  const std::int64_t embedding = a.timed ? a.embedding : 0;
  const bool row = a.height == 1;
  head_ = register_module("head", conv(a.channels_in + (a.positional ? 4 : 0), a.channels[0], k, row));
  tail_ = register_module("tail", conv(a.channels[0], a.outputs(), k, row));
  down_ = register_module("down", torch::nn::ModuleList());
  up_ = register_module("up", torch::nn::ModuleList());
  down_blocks_.resize(static_cast<std::size_t>(levels));
  up_blocks_.resize(static_cast<std::size_t>(levels));
  down_time_.resize(static_cast<std::size_t>(levels), nullptr);
  up_time_.resize(static_cast<std::size_t>(levels), nullptr);
  for (std::int64_t i = 0; i < levels; ++i) {
    const auto li = static_cast<std::size_t>(i);
    const std::int64_t c = a.channels[li];
    const std::string level = std::to_string(i);
    if (i > 0) {
      down_->push_back(conv(a.channels[li - 1], c, k, row, 2));
      down_time_[li] = register_module("down_time" + level, TemporalBlock(c));
      up_time_[li] = register_module("up_time" + level, TemporalBlock(c));
    }
    if (i < levels - 1) up_->push_back(conv(a.channels[li + 1], c, k, row));
    for (std::int64_t j = 0; j < a.blocks; ++j) {
      const std::string name = level + "_" + std::to_string(j);
      down_blocks_[li].push_back(register_module("down_block" + name, ResidualBlock(c, embedding, k, row)));
      up_blocks_[li].push_back(register_module("up_block" + name, ResidualBlock(c, embedding, k, row)));
    }
  }
  if (a.positional) {
    // cos/sin(2 pi i / n), cos/sin(2 pi j / n): periodic, so circularity of the grid is kept.
    const auto i = torch::arange(a.height, torch::kFloat).mul(2 * M_PI / a.height).view({-1, 1});
    const auto j = torch::arange(a.width, torch::kFloat).mul(2 * M_PI / a.width).view({1, -1});
    const auto ones = torch::ones({a.height, a.width});
    grid_ = register_buffer("grid", torch::stack({torch::cos(i) * ones, torch::sin(i) * ones,
                                                  torch::cos(j) * ones, torch::sin(j) * ones}));
  }
  if (compute_.channels_last) {
    torch::NoGradGuard no_grad;
    for (auto& p : parameters())
      if (p.dim() == 4) p.set_data(p.contiguous(torch::MemoryFormat::ChannelsLast));
  }
}

// [cos(pi k t), sin(pi k t)], k = 1..F -> Linear -> SiLU -> Linear.
torch::Tensor UNetImpl::embed(const torch::Tensor& t) {
  const auto k = torch::arange(1, a_.frequencies + 1, t.options()).mul(M_PI);
  const auto phase = t.view({-1, 1}) * k;
  return embed_out_->forward(torch::silu(embed_in_->forward(torch::cat({torch::cos(phase), torch::sin(phase)}, 1))));
}

namespace {
// bf16 autocast (CPU and CUDA) for the scope of one forward pass, restoring
// what was set before; its backward runs each op in the dtype the forward
// chose. Off, it changes nothing.
class Autocast {
 public:
  explicit Autocast(bool on)
      : on_(on),
        cpu_(at::autocast::is_cpu_enabled()),
        gpu_(at::autocast::is_enabled()),
        cpu_dtype_(at::autocast::get_autocast_cpu_dtype()),
        gpu_dtype_(at::autocast::get_autocast_gpu_dtype()) {
    if (!on_) return;
    at::autocast::set_cpu_enabled(true);
    at::autocast::set_enabled(true);
    at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
    at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
  }
  ~Autocast() {
    if (!on_) return;
    at::autocast::set_cpu_enabled(cpu_);
    at::autocast::set_enabled(gpu_);
    at::autocast::set_autocast_cpu_dtype(cpu_dtype_);
    at::autocast::set_autocast_gpu_dtype(gpu_dtype_);
    // The casts of the weights are cached for the pass; drop them.
    if (!cpu_ && !gpu_) at::autocast::clear_cache();
  }
  Autocast(const Autocast&) = delete;
  Autocast& operator=(const Autocast&) = delete;

 private:
  bool on_, cpu_, gpu_;
  at::ScalarType cpu_dtype_, gpu_dtype_;
};
}  // namespace

torch::Tensor UNetImpl::forward(const torch::Tensor& z_t, const torch::Tensor& t) {
  const Autocast autocast(compute_.precision == Precision::bf16);
  // float32 out whatever the precision inside, in the caller's NCHW layout.
  return body(z_t, t).to(torch::kFloat).contiguous();
}

torch::Tensor UNetImpl::body(const torch::Tensor& z_t, const torch::Tensor& t) {
  const std::int64_t b = z_t.size(0), frames = z_t.size(1), c = z_t.size(2), h = z_t.size(3), w = z_t.size(4);
  const auto levels = a_.channels.size();
  // The time embedding is the same for every frame of a window.
  torch::Tensor emb;
  if (a_.timed) {
    const auto e = embed(t);
    emb = e.unsqueeze(1).expand({b, frames, e.size(1)}).reshape({b * frames, e.size(1)});
  }

  auto x = z_t.reshape({b * frames, c, h, w});
  if (a_.positional) x = torch::cat({x, grid_.unsqueeze(0).expand({b * frames, 4, h, w})}, 1);
  if (compute_.channels_last) x = x.contiguous(torch::MemoryFormat::ChannelsLast);
  x = periodic(*head_, x);

  std::vector<torch::Tensor> skips;
  for (std::size_t i = 0; i < levels; ++i) {
    if (i > 0) x = periodic(*down_[i - 1]->as<torch::nn::Conv2d>(), x);
    for (auto& block : down_blocks_[i]) x = block(x, emb);
    if (i > 0) x = down_time_[i](x, frames);
    // The deepest output feeds the way up directly, not as a skip.
    if (i + 1 < levels) skips.push_back(x);
  }
  for (std::size_t i = levels; i-- > 0;) {
    if (i + 1 < levels) {
      const std::vector<double> factor = {a_.height == 1 ? 1.0 : 2.0, 2.0};
      x = periodic(*up_[i]->as<torch::nn::Conv2d>(),
                   F::interpolate(x, F::InterpolateFuncOptions().scale_factor(factor).mode(torch::kNearest))) +
          skips[i];
    }
    if (i > 0) x = up_time_[i](x, frames);
    for (auto& block : up_blocks_[i]) x = block(x, emb);
  }
  return periodic(*tail_, x).view({b, frames, a_.outputs(), h, w});
}

std::int64_t UNetImpl::parameter_count() const {
  std::int64_t n = 0;
  for (const auto& p : parameters()) n += p.numel();
  return n;
}

}  // namespace assim::score_prior
