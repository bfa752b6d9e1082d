// An observation operator's cost per call: obs.arctan in C++ against its
// Python twin (plugins/python/tests/arctan.py) through obs.python, side by
// side in one process, loaded from the built plugins as the host loads them.
// At Lorenz-96's 40 sites and QG's 2 x 32 x 32, on one state and on a window
// of 16 members x 10 frames, forward alone (an EnKF's H(x)) and forward with
// the gradient (what SDA, SOAD and 4D-Var ask). One tensor thread.
//
//   build/bench/python_operator/python_operator_bench [rounds]
#include <assim/assim.hpp>
#include <assim/framework/plugins.hpp>
#include <assim/testing/config.hpp>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <vector>

namespace {

double seconds(const std::function<void()>& f, int calls) {
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < calls; ++i) f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / calls;
}

}  // namespace

int main(int argc, char** argv) {
  const int rounds = argc > 1 ? std::atoi(argv[1]) : 5;
  at::set_num_threads(1);
  assim::PluginCatalog catalog;
  catalog.load(ASSIM_PLUGIN_BUILD_DIR, "the build's plugin folder");
  auto make = [&](const std::string& type, const std::string& yaml) {
    const assim::RegisteredType* t = catalog.find(type);
    return std::dynamic_pointer_cast<assim::ObservationOperator>(
        t->type.create(assim::config_from_yaml(yaml, t->type.parameters, "bench")));
  };
  const auto cpp = make("obs.arctan", "{scale: 3}");
  const auto py = make("obs.python", "{file: " ASSIM_PYTHON_TWIN ", class: Arctan, scale: 3}");

  struct Case {
    const char* name;
    std::vector<std::int64_t> shape;
  };
  const std::vector<Case> cases = {{"lorenz96 1 x 40", {40}},
                                   {"lorenz96 16 x 10 x 40", {16, 10, 40}},
                                   {"qg 1 x 2 x 32 x 32", {2, 32, 32}},
                                   {"qg 16 x 10 x 2 x 32 x 32", {16, 10, 2, 32, 32}}};
  std::printf("%-26s %-9s %12s %12s %8s\n", "shape", "call", "C++ us", "Python us", "ratio");
  for (const auto& c : cases) {
    const at::Tensor x = at::randn(c.shape, at::kDouble);
    for (const bool gradient : {false, true}) {
      auto call = [&](const assim::ObservationOperator& op) {
        return [&op, &x, gradient] {
          if (!gradient) {
            at::NoGradGuard off;
            (void)op.apply(x);
            return;
          }
          at::Tensor v = x.detach().requires_grad_(true);
          op.apply(v).sum().backward();
        };
      };
      // Calls per round: about 0.2 s of the C++ operator, at least 20.
      const int calls = std::max(20, static_cast<int>(0.2 / std::max(seconds(call(*cpp), 20), 1e-7)));
      std::vector<double> c_times, p_times;
      for (int r = 0; r < rounds; ++r) {  // alternating, so that a busy moment slows both
        c_times.push_back(seconds(call(*cpp), calls));
        p_times.push_back(seconds(call(*py), calls));
      }
      const double tc = *std::min_element(c_times.begin(), c_times.end());
      const double tp = *std::min_element(p_times.begin(), p_times.end());
      std::printf("%-26s %-9s %12.2f %12.2f %8.1f\n", c.name, gradient ? "+backward" : "forward", tc * 1e6,
                  tp * 1e6, tp / tc);
    }
  }

  // A model's step: model.lorenz96 against its Python twin (sdk/examples/python_model/lorenz96.py)
  // through model.python, one RK4 step of a batch of members, forward (a
  // forecast: Trajectory::advance) and through differentiable_trajectory
  // with the gradient (4D-Var). (No Python QG twin: QG's step is not timed.)
  auto model = [&](const std::string& type, const std::string& yaml) {
    const assim::RegisteredType* t = catalog.find(type);
    return std::dynamic_pointer_cast<assim::Model>(t->type.create(assim::config_from_yaml(yaml, t->type.parameters, "bench")));
  };
  const auto cpp_model = model("model.lorenz96", "{sites: 40}");
  const auto py_model = model("model.python", "{file: " ASSIM_PYTHON_MODEL_TWIN ", class: Lorenz96, sites: 40}");
  std::printf("\n%-26s %-9s %12s %12s %8s\n", "members x sites, one step", "call", "C++ us", "Python us", "ratio");
  for (const std::int64_t members : {1, 16}) {
    const at::Tensor x = cpp_model->initial_state(members, 1);
    for (const bool gradient : {false, true}) {
      auto call = [&](const assim::Model& m) {
        return [&m, &x, gradient] {
          if (!gradient) {
            m.start(x)->advance(1);
            return;
          }
          at::Tensor v = x.detach().requires_grad_(true);
          m.differentiable_trajectory(v, 2, 1).sum().backward();
        };
      };
      const int calls = std::max(20, static_cast<int>(0.2 / std::max(seconds(call(*cpp_model), 20), 1e-7)));
      std::vector<double> c_times, p_times;
      for (int r = 0; r < rounds; ++r) {
        c_times.push_back(seconds(call(*cpp_model), calls));
        p_times.push_back(seconds(call(*py_model), calls));
      }
      const double tc = *std::min_element(c_times.begin(), c_times.end());
      const double tp = *std::min_element(p_times.begin(), p_times.end());
      std::printf("%-26s %-9s %12.2f %12.2f %8.1f\n", (std::to_string(members) + " x 40").c_str(),
                  gradient ? "+backward" : "forward", tc * 1e6, tp * 1e6, tp / tc);
    }
  }
  return 0;
}
