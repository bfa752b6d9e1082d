// model.qg against pyqg's own output and the invariants of the scheme
// (reference doc, "Checks a faithful port passes").
//
// ATen comes before doctest: glog's CHECK macros would replace doctest's.
#include "qg_model.hpp"
#include "stepper.hpp"

#include <assim/error.hpp>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>

#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace {

const std::string pyqg_dir = std::string(ASSIM_PYQG_DIR) + "/";

// One (layer, y, x) float64 array of a pyqg reference run.
at::Tensor load(const std::string& run, const std::string& name, std::int64_t n) {
  const std::string path = pyqg_dir + run + "/" + name + ".f64";
  std::ifstream in(path, std::ios::binary);
  REQUIRE_MESSAGE(in.good(), "cannot read " << path);
  at::Tensor t = at::empty({2, n, n}, at::kDouble);
  in.read(reinterpret_cast<char*>(t.data_ptr<double>()),
          static_cast<std::streamsize>(sizeof(double) * t.numel()));
  REQUIRE_MESSAGE(in.gcount() == static_cast<std::streamsize>(sizeof(double) * t.numel()),
                  path << " is shorter than 2 x " << n << " x " << n << " doubles");
  return t;
}

// max |a - reference| / max |reference|
double relative_error(const at::Tensor& a, const at::Tensor& reference) {
  return (a - reference).abs().max().item<double>() / reference.abs().max().item<double>();
}

assim::qg::Parameters pyqg_reference_nx32() {
  assim::qg::Parameters p;
  p.nx = 32;
  p.rd = 30000.0;
  p.U1 = 0.05;
  p.filterfac = 18.4;
  p.dt = 12800.0;
  return p;
}

// Volume-weighted energy and enstrophy per unit area (reference doc, last check).
std::pair<double, double> energy_enstrophy(const assim::qg::Grid& g, const at::Tensor& state) {
  const at::Tensor q = state.contiguous();
  const std::int64_t P = g.points();
  std::vector<double> psi(2 * P), u(2 * P), v(2 * P);
  assim::qg::invert(g, q.data_ptr<double>(), psi.data(), u.data(), v.data());
  const double* qq = q.data_ptr<double>();
  const double H = g.p.H1 + g.H2;
  double E = 0, Z = 0;
  for (std::int64_t x = 0; x < P; ++x) {
    for (int j = 0; j < 2; ++j) {
      const std::int64_t i = j * P + x;
      E += g.H(j) / H * 0.5 * (u[i] * u[i] + v[i] * v[i]);
      Z += g.H(j) / H * 0.5 * qq[i] * qq[i];
    }
    const double d = psi[x] - psi[P + x];
    E += 0.5 * (g.p.H1 / H) * g.F1 * d * d;
  }
  return {E / P, Z / P};
}

// A state on the grid of `g` from a list of plane waves per layer.
struct Wave {
  int layer, k, l;
  double amplitude, phase;
};
at::Tensor waves(const assim::qg::Grid& g, const std::vector<Wave>& list) {
  at::Tensor q = at::zeros({2, g.ny, g.nx}, at::kDouble);
  auto a = q.accessor<double, 3>();
  const double two_pi = 2 * 3.141592653589793;
  for (const Wave& w : list)
    for (std::int64_t y = 0; y < g.ny; ++y)
      for (std::int64_t x = 0; x < g.nx; ++x)
        a[w.layer][y][x] += w.amplitude * std::cos(two_pi * (w.k * (x + 0.5) * g.dx +
                                                             w.l * (y + 0.5) * g.dy) / g.p.L +
                                                   w.phase);
  return q;
}

}  // namespace

TEST_CASE("q matches pyqg after 1, 2, 3, 10, 100 and 1000 steps; psi, u, v of the last state") {
  const std::string run = "qg_default_nx64";
  assim::qg::TwoLayerModel model(assim::qg::Parameters{}, assim::qg::Planning::Estimate);
  auto trajectory = model.start(load(run, "q_step0", 64).unsqueeze(0));
  for (int k : {1, 2, 3, 10, 100, 1000}) {
    trajectory->advance(k - trajectory->steps_taken());
    const at::Tensor q = trajectory->state()[0];
    const at::Tensor ref = load(run, "q_step" + std::to_string(k), 64);
    const double e = relative_error(q, ref);
    MESSAGE("step " << k << ": max|q - pyqg| / max|pyqg| = " << e << " (layers: "
                    << relative_error(q[0], ref[0]) << ", " << relative_error(q[1], ref[1])
                    << ")");
    CHECK(e < 1e-10);
  }
  const at::Tensor q = trajectory->state()[0];
  for (const char* name : {"psi", "u", "v"}) {
    const at::Tensor ref = load(run, std::string(name) + "_final", 64);
    const double e = relative_error(model.derive(q, name), ref);
    MESSAGE(std::string(name) << " of step 1000 (derive): max relative error " << e);
    CHECK(e < 1e-10);
  }
  std::vector<double> psi(2 * 64 * 64), u(psi.size()), v(psi.size());
  assim::qg::invert(model.grid(), q.contiguous().data_ptr<double>(), psi.data(), u.data(), v.data());
  CHECK(relative_error(at::from_blob(u.data(), {2, 64, 64}, at::kDouble),
                       load(run, "u_final", 64)) < 1e-10);
  CHECK(relative_error(at::from_blob(psi.data(), {2, 64, 64}, at::kDouble),
                       load(run, "psi_final", 64)) < 1e-10);
}

TEST_CASE("pyqg's reference run: nx 32, 7290 steps, sum(q1^2) within 1 %") {
  const std::string run = "qg_pyqg_reference_nx32";
  assim::qg::TwoLayerModel model(pyqg_reference_nx32(), assim::qg::Planning::Estimate);
  auto trajectory = model.start(load(run, "q_step0", 32).unsqueeze(0));
  trajectory->advance(1);
  CHECK(relative_error(trajectory->state()[0], load(run, "q_step1", 32)) < 1e-10);
  trajectory->advance(7289);
  const double sum = trajectory->state()[0][0].pow(2).sum().item<double>();
  const double expected = 9.567927595356993e-08;
  MESSAGE("sum(q1^2) after 7290 steps = " << sum << " (pyqg " << expected << ", relative "
                                          << (sum - expected) / expected << ")");
  CHECK(std::fabs(sum - expected) < 0.01 * expected);
}

TEST_CASE("the mean PV of each layer is conserved") {
  assim::qg::TwoLayerModel model(assim::qg::Parameters{}, assim::qg::Planning::Estimate);
  const at::Tensor q0 = load("qg_default_nx64", "q_step1000", 64).unsqueeze(0);
  auto trajectory = model.start(q0);
  trajectory->advance(500);
  const at::Tensor q = trajectory->state();
  const double drift = (q.mean({-2, -1}) - q0.mean({-2, -1})).abs().max().item<double>() /
                       q0.abs().max().item<double>();
  MESSAGE("mean PV change over 500 steps / max|q| = " << drift);
  CHECK(drift < 1e-14);
}

TEST_CASE("a single plane wave has zero Jacobian") {
  assim::qg::Parameters p;
  p.beta = p.U1 = p.U2 = p.rek = 0;  // only advection remains
  assim::qg::TwoLayerModel model(p, assim::qg::Planning::Estimate);
  const at::Tensor q0 =
      waves(model.grid(), {{0, 3, 2, 2e-5, 0.3}, {1, 3, 2, -7e-6, 0.3}}).unsqueeze(0);
  auto trajectory = model.start(q0);
  trajectory->advance(1);
  const double residual = relative_error(trajectory->state(), q0);
  MESSAGE("|q1 - q0| / |q0| after one step of a plane wave: " << residual);
  CHECK(residual < 1e-13);
}

TEST_CASE("inversion, then the PV definition, returns q") {
  assim::qg::Parameters p;
  p.nx = 32;
  assim::qg::TwoLayerModel model(p, assim::qg::Planning::Estimate);
  const assim::qg::Grid& g = model.grid();
  const at::Tensor q = at::randn({3, 2, 32, 32}, at::kDouble) * 1e-5;
  const at::Tensor psih = at::fft_rfft2(model.derive(q, "psi"));
  const at::Tensor kappa2 = at::from_blob(const_cast<double*>(g.kappa2.data()), {g.ny, g.nk},
                                          at::kDouble);
  // q1 = lap psi1 + F1 (psi2 - psi1), q2 = lap psi2 + F2 (psi1 - psi2)
  const at::Tensor p1 = psih.select(-3, 0), p2 = psih.select(-3, 1);
  const at::Tensor qh = at::stack({-kappa2 * p1 + g.F1 * (p2 - p1), -kappa2 * p2 + g.F2 * (p1 - p2)}, -3);
  const at::Tensor back = at::fft_irfft2(qh, std::array<std::int64_t, 2>{32, 32});
  const double e = relative_error(back, q - q.mean({-2, -1}, true));
  MESSAGE("round trip q -> psi -> q: max relative error " << e);
  CHECK(e < 1e-13);
}

TEST_CASE("energy and enstrophy are conserved with beta = U = rek = 0 and the 2/3 mask") {
  assim::qg::Parameters p;
  p.beta = p.U1 = p.U2 = p.rek = 0;
  p.dealias = true;
  p.dt = 3600;
  assim::qg::TwoLayerModel model(p, assim::qg::Planning::Estimate);
  const assim::qg::Grid& g = model.grid();
  // Random waves with |k|, |l| <= 6, well inside the 2/3 mask (|index| <= 21).
  std::mt19937_64 engine(5);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  std::vector<Wave> list;
  for (int layer = 0; layer < 2; ++layer)
    for (int k = 0; k <= 6; ++k)
      for (int l = -6; l <= 6; ++l)
        if (k > 0 || l > 0)
          list.push_back({layer, k, l, (layer == 0 ? 2e-6 : 7e-7) * uniform(engine),
                          6.283185307179586 * uniform(engine)});
  const at::Tensor q0 = waves(g, list);
  const auto [E0, Z0] = energy_enstrophy(g, q0);
  auto trajectory = model.start(q0.unsqueeze(0));
  const std::int64_t steps = 10 * 86400 / 3600;
  trajectory->advance(steps);
  const at::Tensor q = trajectory->state()[0];
  const auto [E, Z] = energy_enstrophy(g, q);
  const double max_u = model.derive(q, "velocity").abs().max().item<double>();
  MESSAGE("10 days at nx 64 (max |u| " << max_u << " m/s, q changed by "
                                       << relative_error(q, q0) << " relative): energy drift "
                                       << (E - E0) / E0 << ", enstrophy drift " << (Z - Z0) / Z0);
  CHECK(relative_error(q, q0) > 0.5);  // the flow did evolve
  CHECK(std::fabs(E - E0) < 1e-4 * E0);
  CHECK(std::fabs(Z - Z0) < 1e-4 * Z0);
}

TEST_CASE("a batch steps bitwise like its members one by one") {
  for (auto planning : {assim::qg::Planning::Estimate, assim::qg::Planning::Measure}) {
    assim::qg::TwoLayerModel model(assim::qg::Parameters{}, planning);
    const at::Tensor q = load("qg_default_nx64", "q_step1000", 64) + model.initial_state(3, 7);
    auto batch = model.start(q);
    batch->advance(40);
    const at::Tensor together = batch->state();
    for (std::int64_t m = 0; m < 3; ++m) {
      auto alone = model.start(q.slice(0, m, m + 1));
      alone->advance(40);
      CHECK(at::equal(alone->state()[0], together[m]));
    }
  }
}

TEST_CASE("members shared over threads step bitwise as on one thread; the earliest divergence is named alike") {
  // The host sets LibTorch's threads, which are the stepper's (the same OpenMP).
  const int before = at::get_num_threads();
  assim::qg::TwoLayerModel model(assim::qg::Parameters{}, assim::qg::Planning::Estimate);
  const at::Tensor q = load("qg_default_nx64", "q_step1000", 64) + model.initial_state(5, 3);
  at::set_num_threads(1);
  auto serial = model.start(q);
  serial->advance(20);
  at::set_num_threads(2);
  auto shared = model.start(q);
  shared->advance(20);
  CHECK(at::equal(serial->state(), shared->state()));

  // Members 3 and 4 (on different threads) are out of range from the start,
  // the others blow up later: on any threads the message names member 3, the
  // first of the earliest.
  assim::qg::Parameters p;
  p.dt = 3e5;
  assim::qg::TwoLayerModel fragile(p, assim::qg::Planning::Estimate);
  at::Tensor mixed = q.clone();
  mixed[3] *= 30;
  mixed[4] *= 300;
  std::string named[2];
  std::int64_t step[2] = {-1, -1};
  for (int threads : {1, 2}) {
    at::set_num_threads(threads);
    auto run = fragile.start(mixed);
    try {
      run->advance(2000);
    } catch (const assim::DivergenceError& e) {
      named[threads - 1] = e.what();
      step[threads - 1] = e.step();
    }
  }
  at::set_num_threads(before);
  MESSAGE(named[0]);
  CHECK(named[0].find("member 3 has CFL") != std::string::npos);
  CHECK(step[0] == 0);
  CHECK(named[0] == named[1]);
  CHECK(step[0] == step[1]);
}

TEST_CASE("FFTW wisdom: written once, read back, refused when it lacks the grid or is not wisdom") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("qg_tests-wisdom-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path file = dir / "qg.wisdom";
  assim::qg::write_wisdom(file, {32}, assim::qg::Planning::Measure);
  std::ifstream in(file);
  std::string first;
  std::getline(in, first);
  CHECK(first.rfind("(fftw-3.3", 0) == 0);
  CHECK(!fs::exists(file.string() + ".partial"));
  assim::qg::import_wisdom(file);

  // Planned from the wisdom, the step is pyqg's scheme to rounding (the plan differs only in its order of sums).
  assim::qg::TwoLayerModel wise(assim::qg::Parameters{32}, assim::qg::Planning::Wisdom);
  assim::qg::TwoLayerModel plain(assim::qg::Parameters{32}, assim::qg::Planning::Estimate);
  const at::Tensor q = wise.initial_state(1, 5);
  auto a = wise.start(q), b = plain.start(q);
  a->advance(100);
  b->advance(100);
  CHECK(at::allclose(a->state(), b->state(), 1e-12, 1e-12 * b->state().abs().max().item<double>()));

  // A grid no wisdom covers (no test plans nx 40 otherwise) is refused, naming the tool.
  CHECK_THROWS_WITH_AS(assim::qg::transforms(40, assim::qg::Planning::Wisdom),
                       doctest::Contains("holds no plan for the 40^2 transforms"), std::runtime_error);
  CHECK_THROWS_WITH_AS(assim::qg::import_wisdom(dir / "absent.wisdom"), doctest::Contains("does not exist"),
                       std::runtime_error);
  std::ofstream(dir / "garbage.wisdom") << "not wisdom\n";
  CHECK_THROWS_WITH_AS(assim::qg::import_wisdom(dir / "garbage.wisdom"), doctest::Contains("is not FFTW wisdom"),
                       std::runtime_error);
  fs::remove_all(dir);
}

TEST_CASE("a CFL blow-up throws DivergenceError naming the step") {
  assim::qg::Parameters p;
  p.dt = 3e5;  // U1 alone gives CFL 0.48: the first steps pass, then the filtered AB3 blows up
  assim::qg::TwoLayerModel model(p, assim::qg::Planning::Estimate);
  auto trajectory = model.start(load("qg_default_nx64", "q_step1000", 64).unsqueeze(0));
  bool thrown = false;
  try {
    trajectory->advance(100000);
  } catch (const assim::DivergenceError& e) {
    thrown = true;
    const std::string what = e.what();
    MESSAGE(what);
    CHECK(e.step() > 0);
    // Every member finished the block of steps in which the bad state was found.
    CHECK(trajectory->steps_taken() > e.step());
    CHECK(trajectory->steps_taken() <= e.step() + assim::qg::Stepper::block);
    CHECK(what.find("step " + std::to_string(e.step())) != std::string::npos);
    CHECK(what.find("CFL") != std::string::npos);
    CHECK(what.find("try dt <=") != std::string::npos);
  }
  CHECK(thrown);

  p.dt = 1e6;  // U1 alone gives CFL 1.6: the initial state is already out of range
  assim::qg::TwoLayerModel hopeless(p, assim::qg::Planning::Estimate);
  auto at_once = hopeless.start(hopeless.initial_state(2, 1));
  try {
    at_once->advance(5);
    FAIL("no DivergenceError at CFL 1.6");
  } catch (const assim::DivergenceError& e) {
    CHECK(e.step() == 0);
  }
}

TEST_CASE("derive(\"u\"), (\"v\"), (\"psi\") equal the core's inversion") {
  assim::qg::Parameters p;
  p.nx = 32;
  assim::qg::TwoLayerModel model(p, assim::qg::Planning::Estimate);
  const at::Tensor q = at::randn({3, 2, 32, 32}, at::kDouble) * 1e-5;
  const at::Tensor u = model.derive(q, "u"), v = model.derive(q, "v"),
                   psi = model.derive(q, "psi"), velocity = model.derive(q, "velocity");
  CHECK(velocity.sizes() == at::IntArrayRef{3, 4, 32, 32});
  CHECK(at::equal(velocity.slice(1, 0, 2), u));
  CHECK(at::equal(velocity.slice(1, 2, 4), v));
  for (std::int64_t m = 0; m < 3; ++m) {
    std::vector<double> cpsi(2 * 32 * 32), cu(cpsi.size()), cv(cpsi.size());
    assim::qg::invert(model.grid(), q[m].contiguous().data_ptr<double>(), cpsi.data(), cu.data(),
               cv.data());
    auto as_tensor = [](std::vector<double>& a) {
      return at::from_blob(a.data(), {2, 32, 32}, at::kDouble);
    };
    CHECK(relative_error(u[m], as_tensor(cu)) < 1e-13);
    CHECK(relative_error(v[m], as_tensor(cv)) < 1e-13);
    CHECK(relative_error(psi[m], as_tensor(cpsi)) < 1e-13);
  }
  CHECK_THROWS_AS(model.derive(q, "vorticity"), assim::Error);
  CHECK_THROWS_AS(model.derive(q.slice(-1, 0, 16), "u"), assim::Error);
}

// max over every stride-th entry of |central difference - autograd| / max |autograd gradient| of
// `objective` at x0.
double gradient_error(const std::function<at::Tensor(const at::Tensor&)>& objective, const at::Tensor& x0, double h,
                      std::int64_t stride) {
  at::Tensor x = x0.clone().requires_grad_(true);
  objective(x).backward();
  const at::Tensor gradient = x.grad().reshape(-1);
  const double scale = gradient.abs().max().item<double>();
  double worst = 0;
  for (std::int64_t i = 0; i < x0.numel(); i += stride) {
    at::Tensor plus = x0.clone(), minus = x0.clone();
    plus.view(-1)[i] += h;
    minus.view(-1)[i] -= h;
    const double fd = (objective(plus) - objective(minus)).item<double>() / (2 * h);
    worst = std::max(worst, std::fabs(fd - gradient[i].item<double>()) / scale);
  }
  return worst;
}

TEST_CASE("derive is differentiable: autograd against finite differences") {
  assim::qg::Parameters p;
  p.nx = 8;
  assim::qg::TwoLayerModel model(p, assim::qg::Planning::Estimate);
  const at::Tensor x0 = at::randn({2, 2, 8, 8}, at::kDouble) * 1e-5;
  const at::Tensor weights = at::randn({2, 4, 8, 8}, at::kDouble);
  auto objective = [&](const at::Tensor& x) { return (model.derive(x, "velocity") * weights).sum(); };
  const double worst = gradient_error(objective, x0, 1e-7, 7);
  MESSAGE("autograd vs central differences: max error / max |gradient| = " << worst);
  CHECK(worst < 1e-7);
}

TEST_CASE("the differentiable step is the FFTW stepper's to 1e-12 over 100 steps at nx 32 and 64") {
  struct Case {
    assim::qg::Parameters p;
    at::Tensor q0;  // a developed state of pyqg's runs
  };
  assim::qg::Parameters nx64;
  const std::vector<Case> cases = {
      {pyqg_reference_nx32(), load("qg_pyqg_reference_nx32", "q_step7290", 32)},
      {nx64, load("qg_default_nx64", "q_step1000", 64)}};
  for (const auto& c : cases) {
    CAPTURE(c.p.nx);
    assim::qg::TwoLayerModel model(c.p, assim::qg::Planning::Estimate);
    auto generator = at::make_generator<at::CPUGeneratorImpl>(5);
    const at::Tensor q0 = at::stack({c.q0, c.q0 + 1e-7 * at::randn(c.q0.sizes(), generator, at::kDouble)});
    const at::Tensor frames = model.differentiable_trajectory(q0, 11, 10);
    auto trajectory = model.start(q0);
    double worst = 0;
    for (std::int64_t f = 0; f <= 10; ++f) {
      if (f > 0) trajectory->advance(10);
      worst = std::max(worst, relative_error(frames.select(1, f), trajectory->state()));
    }
    MESSAGE("nx " << c.p.nx << ": max over 100 steps of max|torch - FFTW| / max|FFTW| = " << worst);
    CHECK(worst < 1e-12);
    CHECK(relative_error(frames.select(1, 10), q0) > 1e-3);  // the flow moved
  }
}

TEST_CASE("the differentiable step's adjoint matches finite differences over 24 steps") {
  assim::qg::Parameters p;
  p.nx = 16;
  assim::qg::TwoLayerModel model(p, assim::qg::Planning::Estimate);
  // A developed-amplitude random state, so that the nonlinear term matters.
  auto generator = at::make_generator<at::CPUGeneratorImpl>(6);
  const at::Tensor x0 = at::randn({1, 2, 16, 16}, generator, at::kDouble) * 1e-5;
  const at::Tensor weights = at::randn({1, 3, 2, 16, 16}, generator, at::kDouble);
  auto objective = [&](const at::Tensor& x) { return (model.differentiable_trajectory(x, 3, 12) * weights).sum(); };
  const double worst = gradient_error(objective, x0, 1e-8, 13);
  MESSAGE("adjoint vs central differences: max error / max |gradient| = " << worst);
  CHECK(worst < 1e-6);
  // The Jacobian term is felt: the gradient of a linear map would not depend on the state.
  at::Tensor x = x0.clone().requires_grad_(true), y = (2 * x0).clone().requires_grad_(true);
  objective(x).backward();
  objective(y).backward();
  CHECK((y.grad() - x.grad()).abs().max().item<double>() > 1e-3 * x.grad().abs().max().item<double>());
}

TEST_CASE("initial states, state spec and parameters") {
  assim::qg::TwoLayerModel model(assim::qg::Parameters{}, assim::qg::Planning::Estimate);
  const at::Tensor q = model.initial_state(3, 123);
  CHECK(q.sizes() == at::IntArrayRef{3, 2, 64, 64});
  CHECK((q.scalar_type() == at::kDouble));
  CHECK(at::equal(q, model.initial_state(3, 123)));
  CHECK_FALSE(at::equal(q[0], q[1]));
  CHECK_FALSE(at::equal(q, model.initial_state(3, 124)));
  CHECK(q.select(1, 1).abs().max().item<double>() == 0);  // q2 = 0
  CHECK(q.min().item<double>() >= 0);
  CHECK(q.max().item<double>() < 1.1e-6);
  // 1e-6 times one row repeated over y dominates: q1 varies little down a column.
  CHECK((q[0][0] - q[0][0][0]).abs().max().item<double>() < 1e-7);

  const assim::StateSpec spec = model.state_spec();
  CHECK(spec.variable == "q");
  CHECK(spec.units == "s-1");
  CHECK(spec.shape() == std::vector<std::int64_t>{2, 64, 64});
  CHECK(spec.dims[2].name == "x");
  CHECK(spec.dims[2].spacing == doctest::Approx(1e6 / 64));
  CHECK(spec.time_step == 7200.0);

  const assim::Parameters declared = assim::qg::TwoLayerModel::parameters();
  for (const char* name : {"nx", "L", "dt", "beta", "rd", "delta", "H1", "U1", "U2", "rek",
                           "filterfac", "dealias", "fft_planning"})
    CHECK_MESSAGE(declared.find(name) != nullptr, name);
  CHECK(declared.find("dt")->unit == "s");
  CHECK(std::stod(declared.find("dt")->default_value) == 7200.0);
  // A seed must reproduce the data: FFTW_MEASURE picks its plan by timing, so
  // two runs may differ in the last bits, and a spin-up of years turns that
  // into another flow (at nx 64 and 5 years: three different truths in four runs).
  CHECK(declared.find("fft_planning")->default_value == "\"estimate\"");  // YAML text

  auto trajectory = model.start(q);
  CHECK_THROWS_AS(model.start(q[0]), assim::Error);
  trajectory->advance(2);
  const at::Tensor snapshot = trajectory->state();
  trajectory->advance(1);
  CHECK_FALSE(at::equal(snapshot, trajectory->state()));  // state() is a copy
  CHECK(trajectory->steps_taken() == 3);
}
