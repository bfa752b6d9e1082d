// sampler.estimator (part of score_prior_tests, whose main is in
// test_score_prior.cpp): x = F_w(y) fitted by eq. 21 approaches the posterior
// mean where the posterior is known, overfits a handful of pairs without a
// weight penalty (and the held-out loss shows it), keeps what it learned
// through its files, and refuses what it cannot estimate.
//
// Torch comes before doctest: glog's CHECK macros would replace doctest's.
#include "estimator.hpp"

#include <assim/error.hpp>
#include <assim/log.hpp>
#include <assim/testing/config.hpp>
#include <assim/testing/contracts.hpp>
#include <assim/workers.hpp>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using assim::score_prior::Estimator;

namespace {

class Identity : public assim::ObservationOperator {
 public:
  at::Tensor apply(const at::Tensor& x) const override { return x; }
  bool linear() const override { return true; }
};

const auto identity = std::make_shared<Identity>();

Estimator make(const std::string& yaml, std::shared_ptr<assim::ObservationOperator> op = identity) {
  return Estimator(assim::config_from_yaml("state_shape: [1, 8, 8]\noperator: $h\n" + yaml, Estimator::parameters(),
                                           "<text>", {{"h", op}}));
}

fs::path scratch(const std::string& name) {
  const fs::path p = fs::temp_directory_path() / ("estimator_tests-" + std::to_string(::getpid())) / name;
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

assim::StateSpec spec() {
  assim::StateSpec s;
  s.dims = {{"channel", 1, "", 0}, {"y", 8, "m", 1}, {"x", 8, "m", 1}};
  return s;
}

// The linear-Gaussian toy: one frame, x ~ N(0, I), half the points observed
// as y = x + N(0, 1), a background x_b = x + N(0, 1). Its posterior mean is
// (y + x_b) / 3 where observed and x_b / 2 elsewhere; the mean squared error
// of that (the least any estimator reaches) is 1/3 and 1/2 there: 5/12 on average.
assim::TrainingPairs toy_pairs(std::int64_t count, std::uint64_t seed) {
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  const auto options = at::TensorOptions().dtype(at::kDouble);
  assim::TrainingPairs p;
  p.states = at::randn({count, 1, 1, 8, 8}, generator, options);
  p.mask = (at::rand({count, 1, 1, 8, 8}, generator, options) < 0.5).to(at::kDouble);
  p.observations = (p.states + at::randn(p.states.sizes(), generator, options)) * p.mask;
  p.background = p.states.select(1, 0) + at::randn({count, 1, 8, 8}, generator, options);
  return p;
}

at::Tensor posterior_mean(const assim::TrainingPairs& p) {
  const auto b = p.background.unsqueeze(1);
  return p.mask * (p.observations + b) / 3 + (1 - p.mask) * b / 2;
}

assim::EstimatorData toy_data(std::int64_t per_epoch, std::int64_t validation = 512) {
  assim::EstimatorData d;
  d.set_state(spec());
  d.set_observation_operator(identity);
  d.set_draw(toy_pairs);
  d.set_pairs_per_epoch(per_epoch);
  d.set_validation(toy_pairs(validation, 99));
  return d;
}

assim::TrainingOptions options(const fs::path& dir, std::int64_t epochs, std::int64_t batch, double rate) {
  assim::TrainingOptions o;
  o.epochs = epochs;
  o.batch_size = batch;
  o.learning_rate = rate;
  o.weight_decay = 0;
  o.seed = 7;
  o.checkpoints = dir / "checkpoints";
  o.output = dir / "output";
  return o;
}

// (train, validation) loss of every epoch in training.csv.
std::vector<std::pair<double, double>> curve(const fs::path& csv) {
  std::ifstream in(csv);
  std::vector<std::pair<double, double>> rows;
  std::string line, cell;
  std::getline(in, line);
  while (std::getline(in, line)) {
    std::stringstream row(line);
    std::vector<double> v;
    for (int i = 0; i < 3 && std::getline(row, cell, ','); ++i) v.push_back(std::stod(cell));
    rows.emplace_back(v[1], v[2]);
  }
  return rows;
}

double mse(const at::Tensor& a, const at::Tensor& b) { return (a.to(at::kDouble) - b).square().mean().item<double>(); }

assim::AssimilationProblem problem_of(const assim::TrainingPairs& p, std::int64_t i) {
  assim::AssimilationProblem problem;
  problem.set_state(spec());
  problem.set_observation_operator(identity);
  problem.set_observations(p.observations[i]);
  problem.set_mask(p.mask[i]);
  problem.set_observation_sigma(1);
  problem.set_background(p.background[i]);
  problem.set_background_sigma(1);
  return problem;
}

}  // namespace

TEST_CASE("with enough pairs, F_w approaches the posterior mean (the MMSE estimator)") {
  Estimator f = make("channels: [16]\nblocks: 2\n");
  const fs::path dir = scratch("mmse");
  f.fit(toy_data(1024), options(dir, 12, 32, 3e-3));
  const assim::TrainingPairs held = toy_pairs(1024, 1234);
  const at::Tensor estimate = f.estimate(held.observations, held.mask, held.background);
  const double optimum = mse(posterior_mean(held), held.states);
  const double reached = mse(estimate, held.states);
  MESSAGE("held-out MSE ", reached, ", posterior mean's ", optimum, " (5/12 = 0.4167); distance to it ",
          mse(estimate, posterior_mean(held)));
  CHECK(optimum == doctest::Approx(5.0 / 12).epsilon(0.03));
  CHECK(reached < 1.05 * optimum);
  // Ignoring the background, the best one can do is y / 2 (MSE 0.625 on average).
  CHECK(mse(estimate, posterior_mean(held)) < 0.02);
  // The validation column is the held-out loss of eq. 21's data term.
  const auto rows = curve(dir / "output" / "training.csv");
  REQUIRE(rows.size() == 12);
  CHECK(rows.back().second < 1.05 * optimum);
  CHECK(rows.back().second < rows.front().second);

  SUBCASE("what it learned survives its files, and it is a deterministic Sampler") {
    Estimator loaded = make("channels: [16]\nblocks: 2\n");
    loaded.load(dir / "output");
    const at::Tensor again = loaded.estimate(held.observations, held.mask, held.background);
    // model.pt holds the best validation epoch, which may precede the last.
    CHECK(mse(again, held.states) < 1.05 * optimum);
    const assim::AssimilationProblem problem = problem_of(held, 0);
    CHECK(at::allclose(loaded.sample(problem, 1, 0)[0], again[0].to(at::kDouble), 1e-5, 1e-6));
    CHECK(assim::testing::check_sampler(loaded, problem, 1).text() == "");
  }
}

TEST_CASE("without a weight penalty, a few pairs are memorised and the held-out loss shows it") {
  // Four fixed pairs, whatever the seed asks for (one shard draws the whole batch).
  const assim::TrainingPairs pool = toy_pairs(4, 5);
  auto few = [&](double penalty, std::int64_t epochs, const std::string& name) {
    assim::EstimatorData data = toy_data(4, 128);
    data.set_draw([pool](std::int64_t count, std::uint64_t) {
      REQUIRE(count == 4);
      return pool;
    });
    Estimator f = make("channels: [32]\nblocks: 2\nshards: 1\nweight_penalty: " + std::to_string(penalty) + "\n");
    const fs::path dir = scratch(name);
    f.fit(data, options(dir, epochs, 4, 3e-3));
    return curve(dir / "output" / "training.csv").back();
  };
  const auto [train, held_out] = few(0, 150, "overfit");
  MESSAGE("no penalty: train loss ", train, ", held-out ", held_out, " (the posterior mean's: 5/12)");
  CHECK(train < 0.01 * held_out);
  CHECK(held_out > 1.3 * 5.0 / 12);
  // The penalty is in the loss: lambda |w|^2 of a network of ~40,000
  // weights keeps the training loss far from zero.
  const auto penalised = few(1e-3, 150, "penalised");
  MESSAGE("weight_penalty 1e-3: training loss with the penalty ", penalised.first);
  CHECK(penalised.first > 100 * train);
}

TEST_CASE("the estimator's fit is bit-identical on 1 and 2 workers, its weight penalty included") {
  struct Restore {
    ~Restore() { assim::workers::configure(1, 1); }
  } restore;
  const assim::TrainingPairs held = toy_pairs(16, 1234);
  auto fit = [&](int workers, const std::string& name) {
    assim::workers::configure(workers, 1);
    Estimator f = make("channels: [8, 16]\nblocks: 1\nweight_penalty: 1e-4\n");
    const fs::path dir = scratch(name);
    f.fit(toy_data(48, 64), options(dir, 2, 16, 3e-3));
    return std::make_pair(curve(dir / "output" / "training.csv"),
                          f.estimate(held.observations, held.mask, held.background));
  };
  const auto one = fit(1, "workers-1"), two = fit(2, "workers-2");
  REQUIRE(one.first.size() == 2);
  CHECK(one.first == two.first);
  CHECK(torch::equal(one.second, two.second));
}

TEST_CASE("with weight_penalty, the fit is eq. 21 alone: AdamW's weight decay is not applied") {
  // A decay of 0.5 per unit learning rate moves the weights visibly in 6 steps
  // of rate 3e-2; the penalised fits must not see it at all.
  const assim::TrainingPairs held = toy_pairs(16, 1234);
  auto fit = [&](double penalty, double decay, const std::string& name) {
    Estimator f = make("channels: [8]\nblocks: 1\nshards: 1\nweight_penalty: " + std::to_string(penalty) + "\n");
    assim::TrainingOptions o = options(scratch(name), 2, 16, 3e-2);
    o.weight_decay = decay;
    f.fit(toy_data(48, 16), o);
    return f.estimate(held.observations, held.mask, held.background);
  };
  CHECK(torch::equal(fit(1e-3, 0.5, "penalty-decayed"), fit(1e-3, 0, "penalty-undecayed")));
  // The control: without a penalty the same decay changes the fit, so the
  // equality above is the decay switched off, not a decay too small to show.
  CHECK_FALSE(torch::equal(fit(0, 0.5, "decayed"), fit(0, 0, "undecayed")));
}

TEST_CASE("the estimator refuses what it cannot estimate") {
  Estimator f = make("channels: [8]\nblocks: 1\n");
  const assim::TrainingPairs held = toy_pairs(2, 3);
  assim::AssimilationProblem problem = problem_of(held, 0);
  CHECK_THROWS_WITH_AS(f.sample(problem, 1, 0), doctest::Contains("not trained"), assim::Error);
  const fs::path dir = scratch("refuses");
  f.fit(toy_data(8), options(dir, 1, 8, 1e-3));
  CHECK_THROWS_WITH_AS(f.sample(problem, 4, 0), doctest::Contains("use members: 1"), assim::Error);
  // precision: auto measured the fit and its sampling (one window at a time)
  // and stored the choice; a load computes as stored: the same estimate.
  {
    std::ifstream in(dir / "output" / "precision.txt");
    std::string fit, sampling;
    std::getline(in, fit);
    std::getline(in, sampling);
    CHECK(fit.rfind("fit: nhwc-", 0) == 0);
    CHECK(sampling.rfind("sampling: nhwc-", 0) == 0);
    Estimator loaded = make("channels: [8]\nblocks: 1\n");
    loaded.load(dir / "output");
    CHECK(torch::equal(loaded.sample(problem, 1, 0), f.sample(problem, 1, 0)));
  }
  assim::AssimilationProblem no_background = problem;
  no_background.set_background(std::nullopt);
  CHECK_THROWS_WITH_AS(f.sample(no_background, 1, 0), doctest::Contains("has no background"), assim::Error);
  assim::AssimilationProblem other = problem;
  other.set_observation_operator(std::make_shared<Identity>());
  CHECK_THROWS_WITH_AS(f.sample(other, 1, 0), doctest::Contains("another observation operator"), assim::Error);
  assim::EstimatorData elsewhere = toy_data(8);
  elsewhere.set_observation_operator(std::make_shared<Identity>());
  CHECK_THROWS_WITH_AS(f.fit(elsewhere, options(scratch("elsewhere"), 1, 8, 1e-3)),
                       doctest::Contains("the training pairs come through another observation operator"), assim::Error);
  // Another estimator's file: the architecture differs, and the message names it.
  Estimator wider = make("channels: [16]\nblocks: 1\n");
  CHECK_THROWS_WITH_AS(wider.load(dir / "output"), doctest::Contains("channels [8] but the settings give [16]"),
                       assim::Error);
  CHECK_THROWS_WITH_AS(Estimator(assim::config_from_yaml("state_shape: [1, 2, 8, 8]\noperator: $h\n",
                                                         Estimator::parameters(), "<text>", {{"h", identity}})),
                       doctest::Contains("1 to 3 entries"), assim::ConfigError);
}

TEST_CASE("per_frame: F_w(y_t) of frame t reads frame t alone (and frame 0 the background); a whole window does not") {
  const auto real = at::TensorOptions().dtype(at::kDouble);
  const at::Tensor y = torch::randn({2, 5, 1, 8, 8}, real), m = torch::ones({2, 5, 1, 8, 8}, real);
  const at::Tensor b = torch::randn({2, 1, 8, 8}, real);
  at::Tensor y3 = y.clone();  // frame 3 observed otherwise
  y3.select(1, 3).add_(torch::randn({2, 1, 8, 8}, real));
  const at::Tensor b2 = b + torch::randn({2, 1, 8, 8}, real);
  auto frames = [](const at::Tensor& a, std::int64_t first, std::int64_t count) { return a.narrow(1, first, count); };

  Estimator frame = make("channels: [8, 16]\nblocks: 1\nper_frame: true\n");
  // y, the mask, the background and the channel saying it is frame 0's.
  CHECK(frame.architecture().channels_in == 4);
  const at::Tensor x = frame.estimate(y, m, b), x3 = frame.estimate(y3, m, b), xb = frame.estimate(y, m, b2);
  CHECK(torch::equal(frames(x3, 0, 3), frames(x, 0, 3)));
  CHECK(torch::equal(frames(x3, 4, 1), frames(x, 4, 1)));
  CHECK_FALSE(torch::equal(frames(x3, 3, 1), frames(x, 3, 1)));
  CHECK(torch::equal(frames(xb, 1, 4), frames(x, 1, 4)));
  CHECK_FALSE(torch::equal(frames(xb, 0, 1), frames(x, 0, 1)));
  // A window is its frames one by one: frame 0 as a window of its own gives what it gives in the window.
  CHECK(torch::allclose(frame.estimate(frames(y, 0, 1), frames(m, 0, 1), b), frames(x, 0, 1), 1e-5, 1e-6));

  // The whole-window network mixes frames: a change of y_3 reaches its neighbours,
  // and the background, repeated on every frame, every frame.
  Estimator window = make("channels: [8, 16]\nblocks: 1\n");
  CHECK(window.architecture().channels_in == 3);
  const at::Tensor w = window.estimate(y, m, b), w3 = window.estimate(y3, m, b), wb = window.estimate(y, m, b2);
  CHECK_FALSE(torch::equal(frames(w3, 2, 1), frames(w, 2, 1)));
  CHECK_FALSE(torch::equal(frames(w3, 4, 1), frames(w, 4, 1)));
  CHECK_FALSE(torch::equal(frames(wb, 4, 1), frames(w, 4, 1)));

  // Setting II per frame: y and the mask only; a fit trains it on windows of
  // two frames (four single-frame pairs per batch of two windows).
  auto two = [](std::int64_t count, std::uint64_t seed) {
    assim::TrainingPairs a = toy_pairs(count, seed);
    const assim::TrainingPairs b = toy_pairs(count, seed + 1);
    a.states = at::cat({a.states, b.states}, 1);
    a.mask = at::cat({a.mask, b.mask}, 1);
    a.observations = at::cat({a.observations, b.observations}, 1);
    return a;
  };
  assim::EstimatorData pairs = toy_data(16);
  pairs.set_draw(two);
  pairs.set_validation(two(16, 99));
  Estimator alone(assim::config_from_yaml("state_shape: [1, 8, 8]\noperator: $h\nbackground: false\nper_frame: true\n"
                                          "channels: [8]\nblocks: 1\nshards: 1\n",
                                          Estimator::parameters(), "<text>", {{"h", identity}}));
  CHECK(alone.architecture().channels_in == 2);
  const fs::path dir = scratch("per-frame");
  alone.fit(pairs, options(dir, 1, 2, 1e-3));
  CHECK(curve(dir / "output" / "training.csv").size() == 1);
  CHECK(alone.estimate(y, m, at::Tensor()).sizes() == y.sizes());
}

TEST_CASE("a 1-D grid (Lorenz-96's sites) is one row of the network, and setting II has no background input") {
  Estimator f(assim::config_from_yaml("state_shape: [40]\noperator: $h\nbackground: false\nchannels: [8]\nblocks: 1\n",
                                      Estimator::parameters(), "<text>", {{"h", identity}}));
  CHECK(f.architecture().channels_in == 2);
  CHECK(f.architecture().height == 1);
  CHECK(f.architecture().width == 40);
  const at::Tensor y = torch::randn({3, 5, 40}, torch::kDouble), m = torch::ones({3, 5, 40}, torch::kDouble);
  CHECK((f.estimate(y, m, at::Tensor()).sizes() == torch::IntArrayRef{3, 5, 40}));
  // Translation on the periodic grid commutes with F_w (circular padding).
  const at::Tensor a = f.estimate(y.roll(7, -1), m, at::Tensor()), b = f.estimate(y, m, at::Tensor()).roll(7, -1);
  CHECK(torch::allclose(a, b, 1e-5, 1e-5));
}
