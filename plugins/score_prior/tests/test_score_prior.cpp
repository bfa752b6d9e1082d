// prior.score_unet: the network's shape, symmetry and reach; training,
// checkpoints, resuming and the errors a user can run into.
//
// Torch comes before doctest: glog's CHECK macros would replace doctest's.
#include "score_prior.hpp"

#include <assim/error.hpp>
#include <assim/testing/config.hpp>
#include <assim/log.hpp>
#include <assim/process.hpp>
#include <assim/workers.hpp>

#include <torch/torch.h>

#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using assim::score_prior::ScorePrior;

namespace {

// Small enough for a test, deep enough to have a temporal block.
const std::string small = "state_shape: [2, 16, 16]\nwindow: 5\nchannels: [8, 16]\nblocks: 1\nkernel: 3\n";
// The papers' network (reference doc, "Denoiser network").
const std::string reference =
    "state_shape: [2, 16, 16]\nchannels: [16, 32, 64]\nblocks: 3\nkernel: 5\n";

ScorePrior make(const std::string& yaml) {
  return ScorePrior(assim::config_from_yaml(yaml, ScorePrior::parameters()));
}

fs::path scratch(const std::string& name) {
  const fs::path p = fs::temp_directory_path() / ("score_prior_tests-" + std::to_string(::getpid())) / name;
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

// Smooth periodic fields drifting in time: (pieces, frames, 2, 16, 16), about unit std.
assim::TrainingData synthetic(std::int64_t pieces, std::int64_t frames, std::uint64_t seed) {
  torch::manual_seed(seed);
  const auto i = torch::arange(16, torch::kFloat).view({1, 1, 1, 16, 1}) * (2 * M_PI / 16);
  const auto j = torch::arange(16, torch::kFloat).view({1, 1, 1, 1, 16}) * (2 * M_PI / 16);
  const auto f = torch::arange(frames, torch::kFloat).view({1, frames, 1, 1, 1});
  auto x = torch::zeros({pieces, frames, 2, 16, 16});
  for (int k = 1; k <= 3; ++k) {
    const auto a = torch::randn({pieces, 1, 2, 1, 1}), phase = torch::rand({pieces, 1, 2, 1, 1}) * 2 * M_PI;
    x += a * torch::cos(k * i + (4 - k) * j + 0.3 * k * f + phase) / k;
  }
  assim::TrainingData data;
  data.train = x / x.std();
  data.validation = torch::zeros({0, frames, 2, 16, 16});
  data.scale = torch::ones({2});
  return data;
}

assim::TrainingOptions options(const fs::path& dir, std::int64_t epochs) {
  assim::TrainingOptions o;
  o.epochs = epochs;
  o.batch_size = 8;
  o.learning_rate = 2e-3;
  o.seed = 42;
  o.checkpoints = dir / "checkpoints";
  o.output = dir / "output";
  return o;
}

// training.csv as rows of (epoch, train, validation) text: exact comparison, no seconds.
std::vector<std::string> losses(const fs::path& csv) {
  std::ifstream in(csv);
  std::vector<std::string> rows;
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) rows.push_back(line.substr(0, line.rfind(',')));
  return rows;
}

double column(const std::string& row, int index) {
  std::stringstream in(row);
  std::string cell;
  for (int i = 0; i <= index; ++i) std::getline(in, cell, ',');
  return std::stod(cell);
}

// Element-wise H, as the papers' arctan / sin operators.
class Tanh : public assim::ObservationOperator {
 public:
  at::Tensor apply(const at::Tensor& x) const override { return at::tanh(x); }
};

// An H that changes the grid: it cannot be stacked on the state's channels.
class Coarsen : public assim::ObservationOperator {
 public:
  at::Tensor apply(const at::Tensor& x) const override { return x; }
  std::vector<std::int64_t> output_shape(const std::vector<std::int64_t>& s) const override {
    return {s[0], s[1] / 2, s[2] / 2};
  }
};

// Same inputs for every comparison of two networks.
std::pair<torch::Tensor, torch::Tensor> probe(std::int64_t frames) {
  torch::manual_seed(3);
  return {torch::randn({2, frames, 2, 16, 16}), torch::tensor({0.3f, 0.8f})};
}

}  // namespace

TEST_CASE("the denoiser keeps the shape and dtype of z_t") {
  const ScorePrior prior = make(small);
  CHECK(prior.learned());
  CHECK(prior.augmentation() == nullptr);
  const auto [z, t] = probe(5);
  const auto out = prior.denoise(z, t);
  CHECK((out.sizes() == z.sizes()));
  CHECK((prior.denoise(z.to(torch::kDouble), t).scalar_type() == torch::kDouble));
  // Other window lengths work too: the temporal convolutions are zero padded.
  CHECK((prior.denoise(torch::randn({1, 3, 2, 16, 16}), torch::tensor({0.5f})).sizes() ==
         torch::IntArrayRef{1, 3, 2, 16, 16}));
  CHECK_THROWS_WITH_AS(prior.denoise(torch::zeros({1, 5, 3, 16, 16}), torch::zeros({1})),
                       doctest::Contains("z_t must have shape (batch, frames, 2, 16, 16), got (1, 5, 3, 16, 16)"),
                       assim::Error);
  CHECK_THROWS_WITH_AS(prior.denoise(torch::zeros({2, 5, 2, 16, 16}), torch::zeros({3})),
                       doctest::Contains("t must have shape (batch) = (2)"), assim::Error);
}

TEST_CASE("a network larger than the machine is refused before it is built, naming the key") {
  // 2^31 residual blocks per level: the estimate is about 1e14 parameters,
  // and building it would take the machine down instead of failing.
  CHECK_THROWS_WITH_AS(make("state_shape: [2, 16, 16]\nwindow: 3\nchannels: [8, 8]\nblocks: 2147483648\n"),
                       doctest::Contains("channels: a U-Net of"), assim::Error);
}

TEST_CASE("circular padding: rolling the input in x and y rolls the output") {
  // Three levels halve the grid twice: rolls by multiples of 4 commute with the strides.
  const ScorePrior prior = make("state_shape: [2, 16, 16]\nwindow: 3\nchannels: [8, 8, 8]\nblocks: 1\n");
  const auto [z, t] = probe(3);
  const auto out = prior.denoise(z, t);
  const auto rolled = prior.denoise(z.roll({4, 8}, {-2, -1}), t);
  CHECK(torch::allclose(rolled, out.roll({4, 8}, {-2, -1}), 1e-4, 1e-5));
}

TEST_CASE("layouts and precisions compute the same network") {
  const auto [z, t] = probe(5);
  ScorePrior nchw = make(small + "layout: nchw\nprecision: fp32\n");
  ScorePrior last = make(small + "layout: channels_last\nprecision: fp32\n");
  ScorePrior bf16 = make(small + "precision: bf16\n");
  CHECK(!nchw.network()->compute().channels_last);
  CHECK(bf16.network()->compute().precision == assim::score_prior::Precision::bf16);
  // One set of weights in all three (the layout is the tensors' strides, not their values).
  torch::NoGradGuard no_grad;
  for (ScorePrior* other : {&last, &bf16}) {
    auto target = other->network()->parameters();
    auto source = nchw.network()->parameters();
    for (std::size_t i = 0; i < target.size(); ++i) target[i].copy_(source[i]);
  }
  const auto reference = nchw.denoise(z, t);
  const double scale = reference.abs().max().item<double>();
  // Channels-last reorders sums only: float32 rounding.
  CHECK(torch::allclose(last.denoise(z, t), reference, 1e-4, 1e-5 * scale));
  // bf16 keeps 8 bits of mantissa: about 1e-2 relative, and not 0 (autocast is on).
  const double bf16_error = (bf16.denoise(z, t) - reference).abs().max().item<double>() / scale;
  MESSAGE("bf16 against fp32: max error " << bf16_error << " of the largest output");
  CHECK(bf16_error > 1e-4);
  CHECK(bf16_error < 5e-2);
  CHECK((bf16.denoise(z, t).scalar_type() == torch::kFloat));
  CHECK_THROWS_WITH_AS(make(small + "precision: fp16\n"), doctest::Contains("precision"), assim::ConfigError);

  // The gradients too (bf16's SiLU has its own backward, in float32): the
  // input's and every weight's, each within bf16's rounding of fp32's.
  torch::AutoGradMode grad_on(true);
  auto gradients = [&](ScorePrior& prior) {
    prior.network()->zero_grad();
    const auto input = z.clone().requires_grad_();
    const auto out = prior.denoise(input, t);
    (out * reference).sum().backward();
    std::vector<torch::Tensor> all{input.grad()};
    for (const auto& p : prior.network()->parameters()) all.push_back(p.grad().clone());
    return all;
  };
  const auto exact = gradients(nchw), rounded = gradients(bf16);
  double worst = 0;
  for (std::size_t i = 0; i < exact.size(); ++i) {
    const double size = exact[i].abs().max().item<double>();
    if (size > 0) worst = std::max(worst, (rounded[i] - exact[i]).abs().max().item<double>() / size);
  }
  MESSAGE("bf16 against fp32: largest gradient error " << worst << " of its tensor's largest entry");
  CHECK(worst < 0.1);
}

TEST_CASE("precision: auto takes fp32 unless bf16 is clearly faster, measured at the shapes that run") {
  namespace sp = assim::score_prior;
  // The rule, on given times (seconds per call, candidates in the order of
  // preference): the first within 5 % of the fastest.
  CHECK(sp::choose({1.00, 0.97}) == 0);   // bf16 3 % faster: not clearly, fp32
  CHECK(sp::choose({1.00, 0.96}) == 0);   // 4.2 %: still within the margin
  CHECK(sp::choose({1.00, 0.94}) == 1);   // 6.4 %: bf16
  CHECK(sp::choose({1.00, 0.60}) == 1);   // the AMD EPYC's 1.6x
  CHECK(sp::choose({1.00, 1.40}) == 0);   // the Intel Xeon's bf16, slower
  CHECK(sp::choose({1.00, 3.00}) == 0);   // bf16 emulated
  // Four candidates (layout: auto too): fp32 channels-last, fp32 NCHW, bf16
  // channels-last, bf16 NCHW. NCHW bf16 is 1 % faster than channels-last
  // bf16: channels-last bf16 comes first and is within the margin.
  CHECK(sp::choose({1.00, 1.02, 0.60, 0.594}) == 2);
  CHECK(sp::choose({1.00, 0.98, 1.50, 1.50}) == 0);
  CHECK(sp::choose({1.00, 0.90, 1.50, 1.50}) == 1);

  sp::Compute settings;
  settings.auto_precision = true;
  auto names = [](const std::vector<sp::Compute>& cs) {
    std::vector<std::string> out;
    for (const auto& c : cs) out.push_back(c.name());
    return out;
  };
  CHECK(names(sp::candidates(settings)) == std::vector<std::string>{"nhwc-fp32", "nhwc-bf16"});
  settings.auto_layout = true;
  CHECK(names(sp::candidates(settings)) ==
        std::vector<std::string>{"nhwc-fp32", "nchw-fp32", "nhwc-bf16", "nchw-bf16"});
  CHECK(names(sp::candidates(sp::compute_named("nchw-bf16"))) == std::vector<std::string>{"nchw-bf16"});
  CHECK_THROWS_AS(sp::compute_named("nhwc-fp16"), std::invalid_argument);

  // Measured: every candidate timed, the rule applied, the decision kept for
  // the process (the same times again), torch's random numbers untouched.
  const ScorePrior prior = make(small);
  CHECK(prior.network()->compute().auto_precision);
  sp::Architecture a = prior.architecture();
  settings.auto_layout = false;
  torch::manual_seed(11);
  const auto expected = torch::rand({4});
  torch::manual_seed(11);
  const sp::Choice first = sp::choose_compute(a, settings, {true, 2, 5});
  CHECK(torch::equal(torch::rand({4}), expected));
  REQUIRE(first.seconds.size() == 2);
  CHECK(first.seconds[0] > 0);
  CHECK(first.seconds[1] > 0);
  CHECK(first.compute.name() == first.candidates[sp::choose(first.seconds)].name());
  MESSAGE("auto at a training step of 2 windows: " << first.text());
  const sp::Choice again = sp::choose_compute(a, settings, {true, 2, 5});
  CHECK(again.seconds == first.seconds);
  CHECK(again.compute.name() == first.compute.name());
  // Another shape is another measurement; a precision set is not measured.
  CHECK(sp::choose_compute(a, settings, {false, 2, 5}).seconds.size() == 2);
  const sp::Choice set = sp::choose_compute(a, sp::compute_named("nhwc-bf16"), {true, 2, 5});
  CHECK(set.seconds.empty());
  CHECK(set.compute.precision == sp::Precision::bf16);

  // What the fit writes its choice into: a block or a flow map of settings.
  sp::FitCompute chosen;
  chosen.fit.compute = sp::compute_named("nhwc-bf16");
  chosen.sampling.compute = sp::compute_named("nhwc-fp32");
  CHECK(sp::settings_with_choice("a: 1\nb: 2\n", chosen) == "a: 1\nb: 2\ncompute_chosen: {fit: nhwc-bf16, sampling: nhwc-fp32}");
  CHECK(sp::settings_with_choice("{a: 1, b: [2, 3]}", chosen) ==
        "{a: 1, b: [2, 3], compute_chosen: {fit: nhwc-bf16, sampling: nhwc-fp32}}");
  CHECK(sp::settings_with_choice("{}", chosen) == "{compute_chosen: {fit: nhwc-bf16, sampling: nhwc-fp32}}");
}

TEST_CASE("precision: auto samples a fitted network in the precision its fit stored, and resumes in it") {
  namespace sp = assim::score_prior;
  const auto data = synthetic(4, 10, 7);
  const auto [z, t] = probe(5);
  auto text = [](const fs::path& file) {
    std::ifstream in(file);
    std::stringstream out;
    out << in.rdbuf();
    return out.str();
  };

  // A fit in bf16 (set, so that the test does not depend on what this
  // machine would pick): its files say so.
  const fs::path dir = scratch("stored-bf16");
  ScorePrior fitted = make(small + "precision: bf16\n");
  fitted.fit(data, options(dir, 1));
  CHECK(text(dir / "output" / "precision.txt").rfind("fit: nhwc-bf16\nsampling: nhwc-bf16\n", 0) == 0);
  torch::serialize::InputArchive archive;
  archive.load_from((dir / "output" / "model.pt").string());
  c10::IValue stored;
  REQUIRE(archive.try_read("settings", stored));
  CHECK(stored.toStringRef().find("compute_chosen: {fit: nhwc-bf16, sampling: nhwc-bf16}") != std::string::npos);

  // Loaded with precision: auto, it computes as stored (no new timing: the
  // same outputs bit for bit as the fitted prior's); a precision set wins.
  ScorePrior automatic = make(small);
  automatic.load(dir / "output");
  CHECK(automatic.network()->compute().precision == sp::Precision::bf16);
  CHECK(torch::equal(automatic.denoise(z, t), fitted.denoise(z, t)));
  ScorePrior exact = make(small + "precision: fp32\n");
  exact.load(dir / "output");
  CHECK(exact.network()->compute().precision == sp::Precision::fp32);
  CHECK(!torch::equal(exact.denoise(z, t), fitted.denoise(z, t)));

  // A fit with auto: whatever it picks here, sampling after the fit and after
  // a load compute alike, as its precision.txt says.
  const fs::path measured = scratch("stored-auto");
  ScorePrior chooser = make(small);
  chooser.fit(data, options(measured, 1));
  const std::string record = text(measured / "output" / "precision.txt");
  MESSAGE("precision.txt of a fit with precision: auto:\n" << record);
  CHECK(record.find("nhwc-fp32 ") != std::string::npos);  // the times measured
  CHECK(record.find("nhwc-bf16 ") != std::string::npos);
  ScorePrior reloaded = make(small);
  reloaded.load(measured / "output");
  CHECK(record.find("sampling: " + reloaded.network()->compute().name() + "\n") != std::string::npos);
  CHECK(torch::equal(reloaded.denoise(z, t), chooser.denoise(z, t)));

  // A resumed fit keeps the choice its first run stored beside its
  // checkpoints, whatever a timing would say now.
  const fs::path resumed = scratch("resumed-choice");
  fs::create_directories(resumed / "checkpoints");
  std::ofstream(resumed / "checkpoints" / "precision.txt") << "fit: nchw-bf16\nsampling: nhwc-bf16\n# made up\n";
  sp::Compute settings;
  settings.auto_precision = settings.auto_layout = true;
  const sp::FitCompute kept =
      sp::fit_compute(chooser.architecture(), settings, {true, 8, 5}, {false, 8, 5}, resumed / "checkpoints");
  CHECK(kept.fit.compute.name() == "nchw-bf16");
  CHECK(kept.sampling.compute.name() == "nhwc-bf16");
  CHECK(kept.fit.seconds.empty());
  CHECK(kept.record == "fit: nchw-bf16\nsampling: nhwc-bf16\n# made up\n");
}

TEST_CASE("a prior fitted in bf16 reaches the fp32 prior's validation loss") {
  auto data = synthetic(6, 12, 1);
  data.validation = synthetic(2, 12, 2).train;
  // The noise of the comparison: two fp32 fits that differ only in their seed.
  auto final_validation = [&](const std::string& precision, std::uint64_t seed) {
    const fs::path dir = scratch("precision-" + precision + std::to_string(seed));
    ScorePrior prior = make(small + "precision: " + precision + "\n");
    auto o = options(dir, 6);
    o.seed = seed;
    prior.fit(data, o);
    return column(losses(dir / "output" / "training.csv").back(), 2);
  };
  // Paired by seed (same initial weights, same draws): the precision must move
  // the loss by less than a change of seed does, the fit's own noise.
  std::vector<double> fp32, gap;
  for (std::uint64_t seed : {42, 43, 44}) {
    fp32.push_back(final_validation("fp32", seed));
    gap.push_back(final_validation("bf16", seed) - fp32.back());
    MESSAGE("seed " << seed << ": validation loss fp32 " << fp32.back() << ", bf16 - fp32 " << gap.back());
  }
  const double mean = (fp32[0] + fp32[1] + fp32[2]) / 3;
  double spread = 0;
  for (double v : fp32) spread += (v - mean) * (v - mean) / 2;
  spread = std::sqrt(spread);
  for (double g : gap) CHECK(std::abs(g) < 0.5 * spread);
}

TEST_CASE("the reference network: ~3.7 M parameters, temporal reach +-4 frames") {
  const ScorePrior prior = make(reference + "positional: true\n");
  const auto count = prior.network()->parameter_count();
  MESSAGE("reference network (channels 16/32/64, 3 blocks, kernel 5, 2+4 input channels): " << count
                                                                                            << " parameters");
  CHECK(count > 3'500'000);
  CHECK(count < 3'900'000);
  // The estimate that refuses oversized networks before building them is exact.
  CHECK(prior.architecture().parameter_estimate() == static_cast<double>(count));

  const ScorePrior net = make(reference + "window: 11\n");
  torch::manual_seed(5);
  const auto z = torch::randn({1, 11, 2, 16, 16});
  const auto t = torch::tensor({0.5f});
  auto changed = z.clone();
  changed[0][0] += 1.0;
  const auto diff = (net.denoise(changed, t) - net.denoise(z, t)).abs().amax({0, 2, 3, 4});
  for (int k = 0; k < 11; ++k) {
    CAPTURE(k);
    if (k <= 4)
      CHECK(diff[k].item<double>() > 1e-6);
    else
      CHECK(diff[k].item<double>() < 1e-7);
  }
}

TEST_CASE("denoise under autograd and under inference mode") {
  const ScorePrior prior = make(small);
  const auto [z0, t] = probe(5);
  const auto z = z0.clone().requires_grad_();
  const auto out = prior.denoise(z, t);
  CHECK(out.requires_grad());
  const auto grad = torch::autograd::grad({out.square().sum()}, {z})[0];
  CHECK(grad.abs().sum().item<double>() > 0);
  c10::InferenceMode guard;
  CHECK(torch::allclose(prior.denoise(z0, t), out.detach()));
}

TEST_CASE("augment_with: the prior is over z = (x, H(x))") {
  const auto h = std::make_shared<Tanh>();
  ScorePrior prior(assim::config_from_yaml(small + "augment_with: $h\n", ScorePrior::parameters(), "<text>", {{"h", h}}));
  CHECK(prior.augmentation() == h);
  CHECK(prior.architecture().channels_in == 4);
  prior.fit(synthetic(2, 6, 1), options(scratch("augmented"), 1));
  CHECK((prior.denoise(torch::randn({1, 5, 4, 16, 16}), torch::tensor({0.5f})).sizes() ==
         torch::IntArrayRef{1, 5, 4, 16, 16}));
  CHECK_THROWS_WITH_AS(ScorePrior(assim::config_from_yaml(small + "augment_with: $h\n", ScorePrior::parameters(),
                                                          "<text>", {{"h", std::make_shared<Coarsen>()}})),
                       doctest::Contains("is [2, 8, 8]; the augmented prior needs [channels, 16, 16]"),
                       assim::ConfigError);
}

TEST_CASE("a state without a channel dim (Lorenz-96's sites) is one row of one channel, also augmented") {
  ScorePrior prior = make("state_shape: [40]\nwindow: 5\nchannels: [8, 16]\nblocks: 1\nkernel: 5\n");
  CHECK(prior.architecture().channels_in == 1);
  CHECK(prior.architecture().height == 1);
  torch::manual_seed(2);
  const auto z = torch::randn({3, 5, 40}, torch::kDouble);
  const auto t = torch::full({3}, 0.4, torch::kDouble);
  const auto eps = prior.denoise(z, t);
  CHECK((eps.sizes() == z.sizes()));
  // Periodic sites: shifting the window (by a multiple of the one stride-2 level) shifts the estimate of its noise.
  CHECK(torch::allclose(prior.denoise(z.roll(8, -1), t), eps.roll(8, -1), 1e-5, 1e-5));
  assim::TrainingData data;
  data.train = torch::randn({4, 8, 40});
  data.validation = torch::randn({1, 8, 40});
  data.scale = torch::ones({1});
  prior.fit(data, options(scratch("sites"), 1));
  CHECK_THROWS_WITH_AS(prior.denoise(torch::randn({3, 5, 2, 40}), t), doctest::Contains("(batch, frames, 40)"),
                       assim::Error);
  // Augmented (SOAD's z = (x, H(x))): the sites are one channel, H(x) the second.
  const std::string sites = "state_shape: [40]\nwindow: 5\nchannels: [8, 16]\nblocks: 1\nkernel: 5\naugment_with: $h\n";
  ScorePrior augmented(assim::config_from_yaml(sites, ScorePrior::parameters(), "<text>", {{"h", std::make_shared<Tanh>()}}));
  CHECK(augmented.architecture().channels_in == 2);
  augmented.fit(data, options(scratch("sites_augmented"), 1));
  CHECK((augmented.denoise(torch::randn({3, 5, 2, 40}), t).sizes() == torch::IntArrayRef{3, 5, 2, 40}));
  CHECK_THROWS_WITH_AS(augmented.denoise(z, t), doctest::Contains("(batch, frames, 2, 40)"), assim::Error);
  // An H that changes the sites cannot be stacked on them.
  class Halve : public assim::ObservationOperator {
   public:
    at::Tensor apply(const at::Tensor& x) const override { return x; }
    std::vector<std::int64_t> output_shape(const std::vector<std::int64_t>& s) const override { return {s[0] / 2}; }
  };
  CHECK_THROWS_WITH_AS(ScorePrior(assim::config_from_yaml(sites, ScorePrior::parameters(), "<text>",
                                                          {{"h", std::make_shared<Halve>()}})),
                       doctest::Contains("is [20]; the augmented prior needs [channels, 40]"), assim::ConfigError);
}

TEST_CASE("training lowers the loss; validation, outputs and the csv") {
  const fs::path dir = scratch("lowers");
  auto data = synthetic(6, 12, 1);
  data.validation = synthetic(2, 12, 2).train;
  ScorePrior prior = make(small);
  prior.fit(data, options(dir, 8));
  const auto rows = losses(dir / "output" / "training.csv");
  REQUIRE(rows.size() == 8);
  const double first = column(rows.front(), 1), last = column(rows.back(), 1);
  const double first_val = column(rows.front(), 2), last_val = column(rows.back(), 2);
  MESSAGE("train loss " << first << " -> " << last << ", validation " << first_val << " -> " << last_val);
  CHECK(last < 0.7 * first);
  CHECK(last_val < 0.7 * first_val);
  CHECK(fs::exists(dir / "output" / "model.pt"));
  CHECK(fs::exists(dir / "output" / "final.pt"));
  CHECK(torch::equal(prior.scale(), torch::ones({2})));
}

TEST_CASE("ema: the same training, the average validated and written; resumed on the same curve") {
  auto data = synthetic(4, 10, 7);
  data.validation = synthetic(2, 10, 8).train;
  const auto [z, t] = probe(5);
  const fs::path plain_dir = scratch("ema-none"), averaged_dir = scratch("ema"), resumed_dir = scratch("ema-resumed");
  ScorePrior plain = make(small), averaged = make(small);
  plain.fit(data, options(plain_dir, 3));
  auto o = options(averaged_dir, 3);
  o.ema = 0.9;
  averaged.fit(data, o);
  const auto without = losses(plain_dir / "output" / "training.csv");
  const auto with = losses(averaged_dir / "output" / "training.csv");
  REQUIRE(with.size() == 3);
  for (std::size_t e = 0; e < 3; ++e) {
    // The optimiser's weights follow the same path (train loss column) ...
    CHECK(column(with[e], 1) == column(without[e], 1));
    // ... while what is validated is the average, another network.
    CHECK(column(with[e], 2) != column(without[e], 2));
  }
  // The optimiser's weights being the same, only the average can make the
  // fitted networks differ.
  CHECK(!torch::allclose(plain.denoise(z, t), averaged.denoise(z, t)));

  // Killed after epoch 2: the average resumes from the checkpoint, not afresh.
  fs::create_directories(resumed_dir / "checkpoints");
  fs::copy_file(averaged_dir / "checkpoints" / "epoch-00002.pt", resumed_dir / "checkpoints" / "epoch-00002.pt");
  ScorePrior resumed = make(small);
  auto r = options(resumed_dir, 3);
  r.ema = 0.9;
  resumed.fit(data, r);
  CHECK(losses(resumed_dir / "output" / "training.csv") == with);
  CHECK(torch::equal(resumed.denoise(z, t), averaged.denoise(z, t)));
}

TEST_CASE("gradient_clip: a bound the gradient never reaches changes nothing, one it always reaches changes the fit") {
  const auto data = synthetic(4, 10, 7);
  auto losses_with = [&](double clip, const std::string& name) {
    const fs::path dir = scratch(name);
    ScorePrior prior = make(small);
    auto o = options(dir, 2);
    o.gradient_clip = clip;
    prior.fit(data, o);
    return losses(dir / "output" / "training.csv");
  };
  const auto free = losses_with(0, "clip-none");
  CHECK(losses_with(1e12, "clip-never") == free);
  // Adam divides out a constant scale of the gradient, not a varying one: a
  // bound every step meets changes the steps.
  CHECK(losses_with(1e-4, "clip-always") != free);
}

TEST_CASE("workers: a fit is bit-identical on 1 and 2 workers, resumed across them, in bf16 too; its shards matter") {
  // The process's workers go back to one, whatever happens here.
  struct Restore {
    ~Restore() { assim::workers::configure(1, 1); }
  } restore;
  auto data = synthetic(4, 10, 7);
  data.validation = synthetic(2, 10, 8).train;
  const auto [z, t] = probe(5);
  struct Fit {
    std::vector<std::string> losses;
    std::vector<torch::Tensor> weights;
    torch::Tensor output;
  };
  // 2 epochs of 3 steps (24 windows, batch 8), the average validated.
  auto fit = [&](int workers, const std::string& settings, const std::string& name,
                 const fs::path& resume_from = {}) {
    assim::workers::configure(workers, 1);
    const fs::path dir = scratch(name);
    if (!resume_from.empty()) {
      fs::create_directories(dir / "checkpoints");
      fs::copy_file(resume_from, dir / "checkpoints" / resume_from.filename());
    }
    ScorePrior prior = make(small + settings);
    auto o = options(dir, 2);
    o.ema = 0.9;
    prior.fit(data, o);
    Fit result{losses(dir / "output" / "training.csv"), {}, prior.denoise(z, t)};
    for (const auto& p : prior.network()->parameters()) result.weights.push_back(p.detach().clone());
    return result;
  };
  auto same = [](const Fit& a, const Fit& b) {
    if (a.losses != b.losses || a.weights.size() != b.weights.size()) return false;
    for (std::size_t i = 0; i < a.weights.size(); ++i)
      if (!torch::equal(a.weights[i], b.weights[i])) return false;
    return torch::equal(a.output, b.output);
  };
  const Fit one = fit(1, "", "workers-1"), two = fit(2, "", "workers-2");
  REQUIRE(one.losses.size() == 2);
  CHECK(same(one, two));
  // Killed after epoch 1 on one worker, resumed on two: the same curve and weights.
  const fs::path killed = fs::temp_directory_path() / ("score_prior_tests-" + std::to_string(::getpid())) /
                         "workers-1" / "checkpoints" / "epoch-00001.pt";
  CHECK(same(one, fit(2, "", "workers-resumed", killed)));
  // Another number of shards draws other samples: the comparison can fail.
  const Fit halves = fit(2, "shards: 2\n", "shards-2");
  CHECK(!same(one, halves));
  CHECK(same(halves, fit(1, "shards: 2\n", "shards-2-one")));
  // bf16 autocast is thread-local: set by the forward on the worker that computes it,
  // so the workers' bf16 fit is the one worker's, and not the fp32 fit.
  const Fit bf16 = fit(2, "precision: bf16\n", "bf16-2");
  CHECK(same(bf16, fit(1, "precision: bf16\n", "bf16-1")));
  CHECK(!same(bf16, fit(2, "precision: fp32\n", "fp32-2")));
}

TEST_CASE("checkpoints: round trip, resume on the same loss curve, clear errors") {
  const fs::path straight = scratch("straight"), resumed = scratch("resumed");
  const auto data = synthetic(4, 10, 7);
  const auto [z, t] = probe(5);

  ScorePrior a = make(small);
  a.fit(data, options(straight, 2));
  const auto rows = losses(straight / "output" / "training.csv");
  REQUIRE(rows.size() == 2);

  SUBCASE("load gives bit-identical outputs") {
    ScorePrior b = make(small);
    b.load(straight / "output");
    CHECK(torch::equal(a.denoise(z, t), b.denoise(z, t)));
  }

  SUBCASE("a fit killed after epoch 1 and resumed continues the same curve") {
    // The state a run killed during epoch 2 leaves behind: epoch 1's checkpoint only.
    fs::create_directories(resumed / "checkpoints");
    fs::copy_file(straight / "checkpoints" / "epoch-00001.pt", resumed / "checkpoints" / "epoch-00001.pt");
    ScorePrior b = make(small);
    b.fit(data, options(resumed, 2));
    const auto again = losses(resumed / "output" / "training.csv");
    CHECK(again == rows);
    CHECK(torch::equal(a.denoise(z, t), b.denoise(z, t)));
  }

  SUBCASE("an unreadable checkpoint is skipped: the fit starts afresh") {
    fs::create_directories(resumed / "checkpoints");
    std::ofstream(resumed / "checkpoints" / "epoch-00003.pt") << "not a checkpoint";
    ScorePrior b = make(small);
    b.fit(data, options(resumed, 2));
    CHECK(losses(resumed / "output" / "training.csv") == rows);
  }

  SUBCASE("mismatched or damaged model files name the file and the mismatch") {
    const fs::path model = straight / "output" / "model.pt";
    CHECK_THROWS_WITH_AS(make("state_shape: [2, 16, 16]\nchannels: [8, 32]\nblocks: 1\n").load(straight / "output"),
                         doctest::Contains(doctest::String(
                             (model.string() + ": was written for channels [8, 16] but the settings give [8, 32]").c_str())),
                         assim::Error);
    CHECK_THROWS_WITH_AS(make("state_shape: [2, 32, 32]\nchannels: [8, 16]\nblocks: 1\n").load(straight / "output"),
                         doctest::Contains("grid [16, 16] but the settings give [32, 32]"), assim::Error);
    CHECK_THROWS_WITH_AS(make("state_shape: [3, 16, 16]\nchannels: [8, 16]\nblocks: 1\n").load(straight / "output"),
                         doctest::Contains("channels_in [2] but the settings give [3]"), assim::Error);
    CHECK_THROWS_WITH_AS(make(small).load(resumed), doctest::Contains("model.pt: no such file"), assim::Error);

    const fs::path broken = scratch("broken");
    const auto size = fs::file_size(model);
    {
      std::ifstream in(model, std::ios::binary);
      std::vector<char> bytes(size / 2);
      in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
      std::ofstream(broken / "model.pt", std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    }
    CHECK_THROWS_WITH_AS(make(small).load(broken), doctest::Contains("(truncated or corrupt?)"), assim::Error);
    fs::copy_file(straight / "checkpoints" / "epoch-00002.pt", broken / "model.pt",
                  fs::copy_options::overwrite_existing);
    CHECK_THROWS_WITH_AS(make(small).load(broken), doctest::Contains("is a 'assim.prior.score_unet.checkpoint'"),
                         assim::Error);
  }

  SUBCASE("bad data and devices") {
    auto bad = data;
    bad.train = torch::zeros({2, 10, 3, 16, 16});
    CHECK_THROWS_WITH_AS(make(small).fit(bad, options(resumed, 1)),
                         doctest::Contains("training data must have shape (pieces, frames, 2, 16, 16)"), assim::Error);
    bad.train = torch::zeros({2, 4, 2, 16, 16});
    CHECK_THROWS_WITH_AS(make(small).fit(bad, options(resumed, 1)), doctest::Contains("fewer than the window of 5"),
                         assim::Error);
    auto o = options(resumed, 1);
    o.device = "tpu";
    CHECK_THROWS_WITH_AS(make(small).fit(data, o), doctest::Contains("device must be cpu or cuda"), assim::Error);
    if (!torch::cuda::is_available()) {
      o.device = "cuda";
      CHECK_THROWS_WITH_AS(make(small).fit(data, o), doctest::Contains("sees no CUDA device"), assim::Error);
    }
  }
}

int main(int argc, char** argv) {
  assim::prepare_process();
  assim::log::set_level(assim::log::Level::Warning);
  doctest::Context context(argc, argv);
  const int result = context.run();
  for (const char* suite : {"score_prior_tests-", "estimator_tests-"})
    fs::remove_all(fs::temp_directory_path() / (suite + std::to_string(::getpid())));
  return result;
}
