#include "unet.hpp"

#include <assim/log.hpp>
#include <assim/shape.hpp>
#include <assim/team.hpp>
#include <assim/write_file.hpp>

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/autocast_mode.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <mutex>
#include <sstream>
#include <stdexcept>

namespace assim::score_prior {

namespace F = torch::nn::functional;
namespace fs = std::filesystem;

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

std::string Compute::name() const {
  return std::string(channels_last ? "nhwc-" : "nchw-") + (precision == Precision::bf16 ? "bf16" : "fp32");
}

Compute compute_named(const std::string& name) {
  for (const bool last : {true, false})
    for (const Precision p : {Precision::fp32, Precision::bf16}) {
      Compute c;
      c.channels_last = last;
      c.precision = p;
      if (c.name() == name) return c;
    }
  throw std::invalid_argument("'" + name + "' names no way of computing (nhwc-fp32, nhwc-bf16, nchw-fp32, nchw-bf16)");
}

void add_compute_fields(assim::Parameters& p) {
  p.string("precision", "auto", "",
           "fp32; bf16 (autocast: float32 weights, bfloat16 convolutions and products); or auto: a fit times a "
           "training step and a denoiser evaluation at its own shapes in fp32 and in bf16 (once per process and "
           "shape) and takes fp32 unless bf16 is more than 5 % faster (fp32 is the more exact; the margin keeps "
           "auto within 5 % of the faster while a timing's noise can flip the choice only near that boundary), "
           "stores the choice with the weights (model.pt, precision.txt) and samples with what it stored")
      .one_of({"auto", "fp32", "bf16"});
  p.string("layout", "channels_last", "",
           "memory layout of the feature maps: channels_last (faster with oneDNN on a CPU), nchw, or auto: "
           "measured as precision: auto is, channels-last preferred within the same 5 %")
      .one_of({"channels_last", "nchw", "auto"});
}

Compute read_compute(const assim::Config& config) {
  Compute c;
  const std::string precision = config.get<std::string>("precision"), layout = config.get<std::string>("layout");
  c.precision = precision == "bf16" ? Precision::bf16 : Precision::fp32;
  c.auto_precision = precision == "auto";
  c.channels_last = layout != "nchw";
  c.auto_layout = layout == "auto";
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

UNet computing_as(const UNet& net, const Compute& compute) {
  const Compute& now = net->compute();
  if (now.channels_last == compute.channels_last && now.precision == compute.precision) return net;
  torch::NoGradGuard no_grad;
  UNet copy(net->architecture(), compute);
  copy->to(net->parameters().front().device());
  auto to = copy->parameters();
  const auto from = net->parameters();
  for (std::size_t i = 0; i < to.size(); ++i) to[i].copy_(from[i]);
  auto buffers = copy->buffers();
  const auto given = net->buffers();
  for (std::size_t i = 0; i < buffers.size(); ++i) buffers[i].copy_(given[i]);
  return copy;
}

// ---- precision: auto, layout: auto (the rule is at preference_margin) ----

std::vector<Compute> candidates(const Compute& settings) {
  std::vector<Compute> out;
  const std::vector<Precision> precisions =
      settings.auto_precision ? std::vector<Precision>{Precision::fp32, Precision::bf16}
                              : std::vector<Precision>{settings.precision};
  const std::vector<bool> layouts =
      settings.auto_layout ? std::vector<bool>{true, false} : std::vector<bool>{settings.channels_last};
  // fp32 before bf16 first, then channels-last before NCHW: the layout only
  // reorders sums, the precision drops 16 bits of mantissa.
  for (const Precision p : precisions)
    for (const bool last : layouts) {
      Compute c;
      c.precision = p;
      c.channels_last = last;
      out.push_back(c);
    }
  return out;
}

std::size_t choose(const std::vector<double>& seconds) {
  if (seconds.empty()) throw std::invalid_argument("choose: no candidate");
  const double fastest = *std::min_element(seconds.begin(), seconds.end());
  for (std::size_t i = 0; i < seconds.size(); ++i)
    if (seconds[i] <= preference_margin * fastest) return i;
  return 0;  // not reached: the fastest is within the margin of itself
}

namespace {

std::string workload_text(const Workload& w, int threads) {
  return std::string(w.training ? "training step" : "denoiser evaluation") + " of " + std::to_string(w.batch) +
         (w.batch == 1 ? " window" : " windows") + " of " + std::to_string(w.frames) + " frames on " +
         std::to_string(threads) + (threads == 1 ? " thread" : " threads");
}

// torch's default CPU generator, put back as it was when the scope ends:
// building the networks to time draws their weights from it.
class KeepRandomState {
 public:
  KeepRandomState() : generator_(at::detail::getDefaultCPUGenerator()) {
    std::lock_guard<std::mutex> lock(generator_.mutex());
    state_ = generator_.get_state();
  }
  ~KeepRandomState() {
    std::lock_guard<std::mutex> lock(generator_.mutex());
    generator_.set_state(state_);
  }
  KeepRandomState(const KeepRandomState&) = delete;
  KeepRandomState& operator=(const KeepRandomState&) = delete;

 private:
  at::Generator generator_;
  at::Tensor state_;
};

// One way of computing, ready to time: its network (the first candidate's
// weights) and, for training, its optimiser.
struct Runner {
  UNet net{nullptr};
  std::unique_ptr<torch::optim::AdamW> optimiser;
};

}  // namespace

std::vector<double> time_candidates(const Architecture& a, const std::vector<Compute>& compute, const Workload& w) {
  using Clock = std::chrono::steady_clock;
  if (compute.empty()) return {};
  // The networks timed draw from the global generator: not between a fit's
  // seed and its network on another worker (seeded_network).
  const std::lock_guard<std::recursive_mutex> draws(global_generator());
  const KeepRandomState keep;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(20261207);
  const at::Tensor z = torch::randn({w.batch, w.frames, a.channels_in, a.height, a.width}, gen);
  const at::Tensor target = torch::randn({w.batch, w.frames, a.outputs(), a.height, a.width}, gen);
  const at::Tensor t = a.timed ? torch::rand({w.batch}, gen) : at::Tensor();
  std::vector<Runner> runners(compute.size());
  for (std::size_t i = 0; i < compute.size(); ++i) {
    runners[i].net = i == 0 ? UNet(a, compute[0]) : computing_as(runners[0].net, compute[i]);
    if (w.training)
      runners[i].optimiser = std::make_unique<torch::optim::AdamW>(
          runners[i].net->parameters(), torch::optim::AdamWOptions(1e-4).weight_decay(1e-5));
  }
  // What the fit's inner loop does per step, or a sampler's denoiser call.
  auto call = [&](Runner& r) {
    if (w.training) {
      const torch::AutoGradMode grad(true);
      const at::Tensor loss = (r.net->forward(z, t) - target).square().mean();
      r.optimiser->zero_grad();
      loss.backward();
      r.optimiser->step();
    } else {
      const torch::NoGradGuard no_grad;
      r.net->forward(z, t);
    }
  };
  // A warm-up call each (oneDNN builds its kernels, the allocator its
  // pools), then rounds alternating the order, each candidate's best call
  // kept: the least disturbed by whatever else runs on the machine. At least
  // 3 rounds, more while a candidate has been timed for less than 0.2 s in
  // all (a small network's calls are short and noisy), at most 30.
  for (auto& r : runners) call(r);
  const std::size_t n = runners.size();
  std::vector<double> best(n, std::numeric_limits<double>::infinity()), total(n, 0);
  for (int round = 0; round < 30; ++round) {
    if (round >= 3 && *std::min_element(total.begin(), total.end()) >= 0.2) break;
    for (std::size_t k = 0; k < n; ++k) {
      const std::size_t i = round % 2 == 0 ? k : n - 1 - k;
      const auto start = Clock::now();
      call(runners[i]);
      const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
      best[i] = std::min(best[i], seconds);
      total[i] += seconds;
    }
  }
  return best;
}

std::string Choice::text() const {
  std::string out = compute.text();
  if (seconds.empty()) return out + " (" + unmeasured + ")";
  out += " (" + workload_text(workload, threads) + ":";
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    char time[48];
    std::snprintf(time, sizeof time, " %.4g s", seconds[i]);
    out += (i ? ", " : " ") + candidates[i].name() + time;
  }
  return out + ")";
}

Choice choose_compute(const Architecture& a, const Compute& settings, const Workload& w) {
  Choice choice;
  choice.candidates = candidates(settings);
  choice.workload = w;
  choice.threads = at::get_num_threads();
  if (choice.candidates.size() == 1) {
    choice.compute = choice.candidates[0];
    return choice;
  }
  // Once per process and shape: a second fit of the same network here
  // computes as the first did (and does not pay for the timing again).
  static std::mutex mutex;
  static std::map<std::string, std::vector<double>> measured;
  std::ostringstream key;
  for (const auto& [name, values] : a.fields()) {
    key << name;
    for (const std::int64_t v : values) key << " " << v;
    key << ";";
  }
  for (const auto& c : choice.candidates) key << c.name() << ";";
  key << w.training << ";" << w.batch << ";" << w.frames << ";" << choice.threads;
  {
    std::lock_guard<std::mutex> lock(mutex);
    const auto found = measured.find(key.str());
    if (found != measured.end()) choice.seconds = found->second;
  }
  if (choice.seconds.empty()) {
    std::string names;
    for (const auto& c : choice.candidates) names += (names.empty() ? "" : ", ") + c.name();
    assim::log::info("precision: auto: timing ", names, " per ", workload_text(w, choice.threads));
    choice.seconds = time_candidates(a, choice.candidates, w);
    std::lock_guard<std::mutex> lock(mutex);
    choice.seconds = measured.emplace(key.str(), choice.seconds).first->second;
  }
  choice.compute = choice.candidates[choose(choice.seconds)];
  return choice;
}

namespace {

const char* const precision_file = "precision.txt";

// The "fit: NAME" or "sampling: NAME" line of a precision.txt; empty when absent.
std::string named_line(const std::string& text, const std::string& key) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key + ": ", 0) == 0) return line.substr(key.size() + 2);
  return "";
}

std::string read_text(const fs::path& file) {
  std::ifstream in(file);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace

namespace {

// The ranks that fit together (sdk team.hpp) compute as their leader chose:
// each measures on its own, and near the margin their timings can disagree.
void agree_with_leader(Choice& choice) {
  if (assim::team::size() < 2 || choice.candidates.size() < 2) return;
  std::int64_t mine = 0;
  while (choice.candidates[static_cast<std::size_t>(mine)].name() != choice.compute.name()) ++mine;
  // One item per rank, item r on rank r: item 0 is the leader's.
  const auto all = assim::team::share(assim::team::size(), [&](std::int64_t) {
    return std::vector<at::Tensor>{at::scalar_tensor(mine, at::kLong)};
  });
  choice.compute = choice.candidates[static_cast<std::size_t>(all[0][0].item<std::int64_t>())];
}

}  // namespace

FitCompute fit_compute(const Architecture& a, const Compute& settings, const Workload& training,
                       const Workload& sampling, const fs::path& checkpoints, const torch::Device& device) {
  FitCompute chosen;
  if (!device.is_cpu() && (settings.auto_precision || settings.auto_layout)) {
    Compute preferred = settings;
    preferred.auto_precision = preferred.auto_layout = false;
    FitCompute fixed = fit_compute(a, preferred, training, sampling, checkpoints);
    fixed.fit.unmeasured = fixed.sampling.unmeasured = "auto on " + device.str() + ": not measured, the preferred";
    fixed.record = "fit: " + preferred.name() + "\nsampling: " + preferred.name() + "\n# auto on " + device.str() +
                   ": the preferred candidate, not measured (timings are taken on the CPU)\n";
    return fixed;
  }
  const fs::path kept = checkpoints / precision_file;
  if ((settings.auto_precision || settings.auto_layout) && fs::exists(kept)) {
    // A resumed fit: what its first run chose, not a new timing.
    const std::string text = read_text(kept);
    try {
      chosen.fit.compute = compute_named(named_line(text, "fit"));
      chosen.sampling.compute = compute_named(named_line(text, "sampling"));
      chosen.record = text;
      return chosen;
    } catch (const std::invalid_argument& e) {
      assim::log::warning(kept.string(), ": ", e.what(), "; measuring again");
    }
  }
  chosen.fit = choose_compute(a, settings, training);
  chosen.sampling = choose_compute(a, settings, sampling);
  agree_with_leader(chosen.fit);
  agree_with_leader(chosen.sampling);
  std::ostringstream record;
  record << "fit: " << chosen.fit.compute.name() << "\n"
         << "sampling: " << chosen.sampling.compute.name() << "\n"
         << "# the fit computes in " << chosen.fit.text() << "\n"
         << "# the fitted network is sampled in " << chosen.sampling.text() << "\n";
  if (!chosen.fit.seconds.empty() || !chosen.sampling.seconds.empty())
    record << "# rule (precision: auto, layout: auto): the first of fp32 before bf16, channels-last before NCHW, "
              "whose best time is within " << std::lround((preference_margin - 1) * 100)
           << " % of the fastest (plugins/score_prior/src/unet.hpp)\n";
  chosen.record = record.str();
  if ((settings.auto_precision || settings.auto_layout) && assim::team::writes()) {
    fs::create_directories(checkpoints);
    assim::write_file(kept, chosen.record);
  }
  return chosen;
}

std::string settings_with_choice(const std::string& settings, const FitCompute& chosen) {
  const std::string entry =
      "compute_chosen: {fit: " + chosen.fit.compute.name() + ", sampling: " + chosen.sampling.compute.name() + "}";
  std::string s = settings;
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  if (s.empty()) return entry;
  // A flow map ({a: 1, b: 2}) takes it as one more entry; a block map as one more line.
  if (s.front() == '{' && s.back() == '}') {
    const bool empty = s.find_first_not_of(" \t\n", 1) == s.size() - 1;
    return s.substr(0, s.size() - 1) + (empty ? "" : ", ") + entry + "}";
  }
  return s + "\n" + entry;
}

Compute loaded_compute(const Compute& settings, const fs::path& folder, const std::string& who) {
  if (!settings.auto_precision && !settings.auto_layout) return settings;
  Compute preferred = settings;
  preferred.auto_precision = preferred.auto_layout = false;
  const fs::path file = folder / "model.pt";
  torch::serialize::InputArchive archive;
  archive.load_from(file.string());
  c10::IValue value;
  std::string stored;
  if (archive.try_read("settings", value) && value.isString()) {
    const std::string& text = value.toStringRef();
    const std::size_t entry = text.find("compute_chosen: {");
    const std::size_t at = entry == std::string::npos ? entry : text.find("sampling: ", entry);
    if (at != std::string::npos) {
      const std::size_t from = at + 10;
      stored = text.substr(from, text.find_first_of(",} \n", from) - from);
    }
  }
  Compute c = preferred;
  try {
    const Compute found = compute_named(stored);
    if (settings.auto_precision) c.precision = found.precision;
    if (settings.auto_layout) c.channels_last = found.channels_last;
  } catch (const std::invalid_argument&) {
    assim::log::warning(who, ": ", file.string(), " records no precision chosen by its fit (written before "
                        "precision: auto measured); sampling in ", preferred.text());
  }
  return c;
}

}  // namespace assim::score_prior
