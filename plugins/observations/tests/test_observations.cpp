// Observation operators: gradients (autograd against finite differences),
// the velocity operator against the QG model and pyqg, and the stack.
#include <torch/torch.h>

#include "model.hpp"
#include "operators.hpp"

#include <assim/testing/config.hpp>

#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <fstream>

using namespace assim::observations;

namespace {

template <class T>
std::shared_ptr<T> make(const std::string& yaml, std::map<std::string, std::shared_ptr<assim::Component>> refs = {}) {
  return std::make_shared<T>(assim::config_from_yaml(yaml, T::parameters(), "test.yaml", std::move(refs)));
}

std::shared_ptr<assim::Component> qg_model(int nx) {
  return make<assim::qg::TwoLayerModel>("{nx: " + std::to_string(nx) + ", fft_planning: estimate}");
}

// Largest relative difference between autograd's gradient of sum(w * H(x))
// and central differences, over a few entries of x.
double gradient_error(const assim::ObservationOperator& op, const at::Tensor& x0) {
  at::Tensor x = x0.clone().requires_grad_(true);
  at::Tensor y = op.apply(x);
  at::Tensor w = at::randn(y.sizes(), at::kDouble);
  (y * w).sum().backward();
  at::Tensor grad = x.grad();
  double worst = 0;
  auto flat = x0.reshape({-1});
  for (std::int64_t i : {std::int64_t{0}, flat.numel() / 3, flat.numel() - 1}) {
    const double h = 1e-6 * std::max(1.0, std::abs(flat[i].item<double>()));
    at::Tensor plus = x0.clone(), minus = x0.clone();
    plus.view({-1})[i] += h;
    minus.view({-1})[i] -= h;
    double numeric = ((op.apply(plus) - op.apply(minus)) * w).sum().item<double>() / (2 * h);
    double analytic = grad.reshape({-1})[i].item<double>();
    worst = std::max(worst, std::abs(numeric - analytic) / std::max(1e-8, std::abs(numeric)));
  }
  return worst;
}

at::Tensor read_pyqg(const std::string& run, const std::string& array, int nx) {
  std::ifstream in(std::string(ASSIM_SHARED_DIR) + "/data/pyqg/" + run + "/" + array + ".f64", std::ios::binary);
  REQUIRE(in.good());
  at::Tensor t = at::empty({2, nx, nx}, at::kDouble);
  in.read(reinterpret_cast<char*>(t.data_ptr<double>()), t.numel() * sizeof(double));
  REQUIRE(in.good());
  return t;
}

}  // namespace

TEST_CASE("element-wise operators compute what they say and have exact gradients") {
  at::manual_seed(3);
  at::Tensor x = at::randn({3, 2, 8, 8}, at::kDouble);
  auto arctan = make<Arctan>("{scale: 3}");
  auto sine = make<Sine>("{amplitude: 1.5, frequency: 3}");
  auto identity = make<Identity>("{}");
  CHECK(at::allclose(arctan->apply(x), at::atan(3 * x)));
  CHECK(at::allclose(sine->apply(x), 1.5 * at::sin(3 * x)));
  CHECK(at::equal(identity->apply(x), x));
  CHECK(identity->linear());
  CHECK_FALSE(sine->linear());
  CHECK(gradient_error(*arctan, x) < 1e-6);
  CHECK(gradient_error(*sine, x) < 1e-6);
  CHECK(gradient_error(*identity, x) < 1e-6);
}

TEST_CASE("obs.velocity reproduces pyqg's velocities through the model's inversion") {
  auto model = qg_model(64);
  auto velocity = make<Velocity>("{model: $qg, inversion: physical, state_scale: [1, 1], scales: [1, 1, 1, 1]}",
                                 {{"qg", model}});
  at::Tensor q = read_pyqg("qg_default_nx64", "q_step1000", 64);
  at::Tensor u = read_pyqg("qg_default_nx64", "u_final", 64), v = read_pyqg("qg_default_nx64", "v_final", 64);
  at::Tensor out = velocity->apply(q.unsqueeze(0)).squeeze(0);
  REQUIRE(out.sizes().vec() == std::vector<std::int64_t>{4, 64, 64});
  double u_error = (out.slice(0, 0, 2) - u).abs().max().item<double>() / u.abs().max().item<double>();
  double v_error = (out.slice(0, 2, 4) - v).abs().max().item<double>() / v.abs().max().item<double>();
  MESSAGE("max relative error u ", u_error, ", v ", v_error);
  CHECK(u_error < 1e-10);
  CHECK(v_error < 1e-10);
  // The same as the model's own diagnostics, with the scales applied.
  auto scaled = make<Velocity>("{model: $qg, state_scale: [2, 3], scales: [0.5, 0.25, 2, 4]}", {{"qg", model}});
  at::Tensor x = q.unsqueeze(0) / at::tensor({2.0, 3.0}, at::kDouble).view({2, 1, 1});
  at::Tensor expected = std::static_pointer_cast<assim::Model>(model)->derive(q.unsqueeze(0), "velocity") /
                        at::tensor({0.5, 0.25, 2.0, 4.0}, at::kDouble).view({4, 1, 1});
  CHECK((scaled->apply(x) - expected).abs().max().item<double>() < 1e-12 * expected.abs().max().item<double>());
  CHECK(gradient_error(*scaled, x / x.abs().max()) < 1e-6);
}

TEST_CASE("obs.velocity refuses states of another grid before any work") {
  auto velocity = make<Velocity>("{model: $qg}", {{"qg", qg_model(32)}});
  CHECK(velocity->output_shape({2, 32, 32}) == std::vector<std::int64_t>{4, 32, 32});
  CHECK_THROWS_WITH_AS(velocity->output_shape({2, 64, 64}), doctest::Contains("model's grid (2, 32, 32)"),
                       assim::Error);
  CHECK_THROWS_WITH_AS(make<Velocity>("{model: $qg, scales: [1, 2]}", {{"qg", qg_model(32)}}),
                       doctest::Contains("test.yaml:1:"), assim::ConfigError);
}

TEST_CASE("obs.stack concatenates channels and checks that outputs fit") {
  auto model = qg_model(32);
  std::map<std::string, std::shared_ptr<assim::Component>> refs = {
      {"easy", make<Arctan>("{}")}, {"hard", make<Sine>("{}")},
      {"wind", make<Velocity>("{model: $qg, inversion: normalised}", {{"qg", model}})}};
  auto stack = make<Stack>("{operators: [$easy, $hard, $wind]}", refs);
  CHECK(stack->output_shape({2, 32, 32}) == std::vector<std::int64_t>{8, 32, 32});
  at::manual_seed(5);
  at::Tensor x = at::randn({3, 9, 2, 32, 32}, at::kDouble);
  at::Tensor y = stack->apply(x);
  CHECK(y.sizes().vec() == std::vector<std::int64_t>{3, 9, 8, 32, 32});
  CHECK(at::allclose(y.slice(2, 0, 2), at::atan(3 * x)));
  CHECK(at::allclose(y.slice(2, 2, 4), 1.5 * at::sin(3 * x)));
  CHECK_FALSE(stack->linear());
  CHECK(gradient_error(*stack, x) < 1e-6);
  auto mismatched = make<Stack>("{operators: [$easy, $wind]}", refs);
  CHECK_THROWS_WITH_AS(mismatched->output_shape({2, 64, 64}), doctest::Contains("model's grid"), assim::Error);
}
