// Observation operators: gradients (autograd against finite differences),
// the velocity operator against the QG model and pyqg, and the stack.
#include <torch/torch.h>

#include "operators.hpp"

#include <assim/framework/plugins.hpp>
#include <assim/testing/config.hpp>
#include <assim/testing/contracts.hpp>

#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <fstream>

using namespace assim::observations;

namespace {

template <class T>
std::shared_ptr<T> make(const std::string& yaml, std::map<std::string, std::shared_ptr<assim::Component>> refs = {}) {
  return std::make_shared<T>(assim::config_from_yaml(yaml, T::parameters(), "test.yaml", std::move(refs)));
}

// The QG model loaded from the qg plugin's built file, as the host loads it.
std::shared_ptr<assim::Component> qg_model(int nx) {
  // Kept for the process's life, as the host keeps its plugins.
  static auto* catalog = [] {
    auto* c = new assim::PluginCatalog();
    c->load(ASSIM_PLUGIN_BUILD_DIR "/libassim_qg.so", "the build's qg plugin");
    return c;
  }();
  const assim::RegisteredType* qg = catalog->find("model.qg");
  REQUIRE(qg);
  return qg->type.create(assim::config_from_yaml("{nx: " + std::to_string(nx) + ", fft_planning: estimate}",
                                                 qg->type.parameters));
}

// The SDK's contract suite: shapes, finiteness, autograd against central
// differences, linear() against a numerical test.
void keeps_contract(const assim::ObservationOperator& op, const std::vector<std::int64_t>& state) {
  const auto failures = assim::testing::check_observation_operator(op, state);
  CHECK_MESSAGE(failures.empty(), failures.text());
}

at::Tensor read_pyqg(const std::string& run, const std::string& array, int nx) {
  std::ifstream in(std::string(ASSIM_PYQG_DIR) + "/" + run + "/" + array + ".f64", std::ios::binary);
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
  keeps_contract(*arctan, {2, 8, 8});
  keeps_contract(*sine, {2, 8, 8});
  keeps_contract(*identity, {2, 8, 8});
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
  keeps_contract(*scaled, {2, 64, 64});
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
  keeps_contract(*stack, {2, 32, 32});
  auto mismatched = make<Stack>("{operators: [$easy, $wind]}", refs);
  CHECK_THROWS_WITH_AS(mismatched->output_shape({2, 64, 64}), doctest::Contains("model's grid"), assim::Error);
}

// n values of f at the grid points 0..n-1 of a ring, and f at random places
// between them (some beyond the ends, where the ring wraps).
TEST_CASE("obs.interpolate: linear on a ring, exact for a linear field, within the error bound of a smooth one") {
  const std::int64_t n = 40;
  at::manual_seed(11);
  const at::Tensor places = at::rand({25}, at::kDouble) * (n + 10) - 5;  // [-5, n + 5)
  std::vector<double> points(places.data_ptr<double>(), places.data_ptr<double>() + places.numel());
  std::string list;
  for (double p : points) list += (list.empty() ? "" : ", ") + std::to_string(p);
  // std::to_string keeps 6 decimals: the places as the operator reads them.
  at::Tensor read = at::empty({static_cast<std::int64_t>(points.size())}, at::kDouble);
  for (std::size_t i = 0; i < points.size(); ++i) read[static_cast<std::int64_t>(i)] = std::stod(std::to_string(points[i]));
  auto op = make<Interpolate>("{points: [" + list + "]}");
  CHECK(op->output_shape({n}) == std::vector<std::int64_t>{25});
  CHECK(op->output_shape({2, n}) == std::vector<std::int64_t>{2, 25});
  CHECK(op->linear());
  const double pi = std::acos(-1.0);
  const at::Tensor grid = at::arange(n, at::kDouble);
  // A field periodic on the ring: linear interpolation is within h^2 / 8 max|f''|.
  const auto wave = [&](const at::Tensor& s) { return at::sin(2 * pi * s / n); };
  const double bound = std::pow(2 * pi / n, 2) / 8;
  const at::Tensor error = (op->apply(wave(grid).unsqueeze(0))[0] - wave(read)).abs();
  CHECK(error.max().item<double>() <= bound);
  CHECK(error.max().item<double>() > bound / 100);  // the places are between grid points
  // A linear field is exact where no wrap intervenes; across the wrap the
  // places between n - 1 and n see the mean of the last and the first points.
  const at::Tensor line = 3 + 0.5 * grid;
  auto inside = make<Interpolate>("{points: [0, 2.25, 38.5, 17.75]}");
  CHECK(at::allclose(inside->apply(line), at::tensor({3.0, 4.125, 22.25, 11.875}, at::kDouble), 0, 1e-12));
  auto wrapped = make<Interpolate>("{points: [39.5, -0.5, 79.5]}");
  const double mean = (line[n - 1].item<double>() + line[0].item<double>()) / 2;
  CHECK(at::allclose(wrapped->apply(line), at::full({3}, mean, at::kDouble), 0, 1e-12));
  keeps_contract(*op, {n});
}

TEST_CASE("obs.interpolate: bilinear on a periodic plane, composed with arctan, per layer") {
  const std::int64_t n = 16;
  at::manual_seed(12);
  const at::Tensor y = at::arange(n, at::kDouble).view({n, 1}), x = at::arange(n, at::kDouble).view({1, n});
  // Bilinear is exact for a + b y + c x + d x y between grid points.
  const auto field = [](const at::Tensor& y, const at::Tensor& x) { return 1 + 0.2 * y - 0.3 * x + 0.05 * x * y; };
  auto inside = make<Interpolate>("{dims: 2, points: [0.5, 0.5, 3.25, 10.75, 14.9, 2.1]}");
  const at::Tensor py = at::tensor({0.5, 3.25, 14.9}, at::kDouble), px = at::tensor({0.5, 10.75, 2.1}, at::kDouble);
  CHECK(at::allclose(inside->apply(field(y, x)), field(py, px), 0, 1e-12));
  // Across both wraps: the mean of the four corner points.
  auto corner = make<Interpolate>("{dims: 2, points: [15.5, 15.5, -0.5, -0.5]}");
  const at::Tensor f = field(y, x);
  const double mean = (f[n - 1][n - 1] + f[n - 1][0] + f[0][n - 1] + f[0][0]).item<double>() / 4;
  CHECK(at::allclose(corner->apply(f), at::full({2}, mean, at::kDouble), 0, 1e-12));
  // Layers (the state's leading dims) are interpolated each at the same places,
  // and arctan applies to the interpolated values.
  std::map<std::string, std::shared_ptr<assim::Component>> refs = {{"easy", make<Arctan>("{scale: 3}")}};
  auto easy = make<Interpolate>("{dims: 2, points: [0.5, 0.5, 3.25, 10.75, 14.9, 2.1], then: $easy}", refs);
  CHECK(easy->output_shape({2, n, n}) == std::vector<std::int64_t>{2, 3});
  CHECK_FALSE(easy->linear());
  const at::Tensor layers = at::stack({f, -2 * f});
  const at::Tensor seen = easy->apply(layers.unsqueeze(0));
  CHECK(seen.sizes().vec() == std::vector<std::int64_t>{1, 2, 3});
  CHECK(at::allclose(seen[0][0], at::atan(3 * field(py, px)), 0, 1e-12));
  CHECK(at::allclose(seen[0][1], at::atan(-6 * field(py, px)), 0, 1e-12));
  keeps_contract(*easy, {2, n, n});
  CHECK_THROWS_AS(make<Interpolate>("{dims: 2, points: [1, 2, 3]}"), assim::ConfigError);
}
