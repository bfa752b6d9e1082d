#include "unet.hpp"

#include <cmath>

namespace assim::score_prior {

namespace F = torch::nn::functional;

std::vector<std::pair<std::string, std::vector<std::int64_t>>> Architecture::fields() const {
  return {{"channels_in", {channels_in}}, {"channels", channels},         {"blocks", {blocks}},
          {"kernel", {kernel}},           {"frequencies", {frequencies}}, {"hidden", {hidden}},
          {"embedding", {embedding}},     {"positional", {positional ? 1 : 0}},
          {"grid", {height, width}}};
}

double Architecture::parameter_estimate() const {
  const double k2 = static_cast<double>(kernel) * static_cast<double>(kernel);
  const double e = static_cast<double>(embedding);
  auto conv = [](double in, double out, double taps) { return in * out * taps + out; };
  // Projection of the embedding, ChannelNorm, expand (k x k), contract (1 x 1).
  auto residual = [&](double c) { return (e * c + c) + 2 * c + conv(c, 4 * c, k2) + conv(4 * c, c, 1); };
  auto temporal = [&](double c) { return conv(c, 4 * c, 3) + conv(4 * c, c, 1); };
  const double f = static_cast<double>(frequencies), h = static_cast<double>(hidden);
  const double in = static_cast<double>(channels_in), c0 = static_cast<double>(channels.front());
  double n = (2 * f * h + h) + (h * e + e) + conv(in + (positional ? 4 : 0), c0, k2) + conv(c0, in, k2);
  for (std::size_t i = 0; i < channels.size(); ++i) {
    const double c = static_cast<double>(channels[i]);
    if (i > 0) n += conv(static_cast<double>(channels[i - 1]), c, k2) + 2 * temporal(c);
    if (i + 1 < channels.size()) n += conv(static_cast<double>(channels[i + 1]), c, k2);
    n += 2 * static_cast<double>(blocks) * residual(c);
  }
  return n;
}

namespace {
// Periodic domains: circular padding keeps the network translation
// equivariant on the torus (reference: "circular padding").
torch::nn::Conv2d conv(std::int64_t in, std::int64_t out, std::int64_t kernel, std::int64_t stride = 1) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, kernel)
                               .stride(stride)
                               .padding(kernel / 2)
                               .padding_mode(torch::kCircular));
}
}  // namespace

ChannelNormImpl::ChannelNormImpl(std::int64_t channels) {
  weight_ = register_parameter("weight", torch::ones({channels}));
  bias_ = register_parameter("bias", torch::zeros({channels}));
}

torch::Tensor ChannelNormImpl::forward(const torch::Tensor& x) {
  const auto mean = x.mean(1, true);
  const auto centred = x - mean;
  const auto var = centred.square().mean(1, true);
  return centred * torch::rsqrt(var + 1e-5) * weight_.view({1, -1, 1, 1}) + bias_.view({1, -1, 1, 1});
}

ResidualBlockImpl::ResidualBlockImpl(std::int64_t c, std::int64_t embedding, std::int64_t kernel) {
  project_ = register_module("project", torch::nn::Linear(embedding, c));
  norm_ = register_module("norm", ChannelNorm(c));
  expand_ = register_module("expand", conv(c, 4 * c, kernel));
  contract_ = register_module("contract", conv(4 * c, c, 1));
}

torch::Tensor ResidualBlockImpl::forward(const torch::Tensor& x, const torch::Tensor& emb) {
  const auto e = project_(emb);
  auto h = norm_(x + e.view({e.size(0), e.size(1), 1, 1}));
  h = contract_(torch::silu(expand_(h)));
  return x + h;
}

TemporalBlockImpl::TemporalBlockImpl(std::int64_t c) {
  expand_ = register_module("expand", torch::nn::Conv1d(torch::nn::Conv1dOptions(c, 4 * c, 3).padding(1)));
  contract_ = register_module("contract", torch::nn::Conv1d(torch::nn::Conv1dOptions(4 * c, c, 1)));
}

torch::Tensor TemporalBlockImpl::forward(const torch::Tensor& x, std::int64_t frames) {
  const std::int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3), b = n / frames;
  auto y = x.view({b, frames, c, h, w}).permute({0, 3, 4, 2, 1}).reshape({b * h * w, c, frames});
  y = contract_(torch::silu(expand_(y)));
  y = y.view({b, h, w, c, frames}).permute({0, 4, 3, 1, 2}).reshape({n, c, h, w});
  return x + y;
}

UNetImpl::UNetImpl(const Architecture& a) : a_(a) {
  const auto levels = static_cast<std::int64_t>(a.channels.size());
  const std::int64_t k = a.kernel;
  embed_in_ = register_module("embed_in", torch::nn::Linear(2 * a.frequencies, a.hidden));
  embed_out_ = register_module("embed_out", torch::nn::Linear(a.hidden, a.embedding));
  head_ = register_module("head", conv(a.channels_in + (a.positional ? 4 : 0), a.channels[0], k));
  tail_ = register_module("tail", conv(a.channels[0], a.channels_in, k));
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
      down_->push_back(conv(a.channels[li - 1], c, k, 2));
      down_time_[li] = register_module("down_time" + level, TemporalBlock(c));
      up_time_[li] = register_module("up_time" + level, TemporalBlock(c));
    }
    if (i < levels - 1) up_->push_back(conv(a.channels[li + 1], c, k));
    for (std::int64_t j = 0; j < a.blocks; ++j) {
      const std::string name = level + "_" + std::to_string(j);
      down_blocks_[li].push_back(register_module("down_block" + name, ResidualBlock(c, a.embedding, k)));
      up_blocks_[li].push_back(register_module("up_block" + name, ResidualBlock(c, a.embedding, k)));
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
}

// [cos(pi k t), sin(pi k t)], k = 1..F -> Linear -> SiLU -> Linear.
torch::Tensor UNetImpl::embed(const torch::Tensor& t) {
  const auto k = torch::arange(1, a_.frequencies + 1, t.options()).mul(M_PI);
  const auto phase = t.view({-1, 1}) * k;
  return embed_out_->forward(torch::silu(embed_in_->forward(torch::cat({torch::cos(phase), torch::sin(phase)}, 1))));
}

torch::Tensor UNetImpl::forward(const torch::Tensor& z_t, const torch::Tensor& t) {
  const std::int64_t b = z_t.size(0), frames = z_t.size(1), c = z_t.size(2), h = z_t.size(3), w = z_t.size(4);
  const auto levels = a_.channels.size();
  // The time embedding is the same for every frame of a window.
  const auto e = embed(t);
  const auto emb = e.unsqueeze(1).expand({b, frames, e.size(1)}).reshape({b * frames, e.size(1)});

  auto x = z_t.reshape({b * frames, c, h, w});
  if (a_.positional) x = torch::cat({x, grid_.unsqueeze(0).expand({b * frames, 4, h, w})}, 1);
  x = head_(x);

  std::vector<torch::Tensor> skips;
  for (std::size_t i = 0; i < levels; ++i) {
    if (i > 0) x = down_[i - 1]->as<torch::nn::Conv2d>()->forward(x);
    for (auto& block : down_blocks_[i]) x = block(x, emb);
    if (i > 0) x = down_time_[i](x, frames);
    // The deepest output feeds the way up directly, not as a skip.
    if (i + 1 < levels) skips.push_back(x);
  }
  for (std::size_t i = levels; i-- > 0;) {
    if (i + 1 < levels) {
      x = up_[i]->as<torch::nn::Conv2d>()->forward(
              F::interpolate(x, F::InterpolateFuncOptions().scale_factor(std::vector<double>{2, 2}).mode(torch::kNearest))) +
          skips[i];
    }
    if (i > 0) x = up_time_[i](x, frames);
    for (auto& block : up_blocks_[i]) x = block(x, emb);
  }
  return tail_(x).view({b, frames, c, h, w});
}

std::int64_t UNetImpl::parameter_count() const {
  std::int64_t n = 0;
  for (const auto& p : parameters()) n += p.numel();
  return n;
}

}  // namespace assim::score_prior
