// Test plugins that misbehave on purpose: one source, three builds (see
// CMakeLists.txt): factories that throw, a model that lacks a capability, a
// model that exhausts the allocator, a
// plugin built for another ABI version, and a library that is no plugin at all. Every build leaves a
// mark when its code runs (ASSIM_TEST_LOAD_MARKER), so that a test can tell
// whether the host ran any of it before refusing it.
#include <assim/assim.hpp>

#include <cstdlib>
#include <ATen/ATen.h>

#include <fstream>
#include <memory>

namespace {
struct LoadMarker {
  LoadMarker() {
    if (const char* file = std::getenv("ASSIM_TEST_LOAD_MARKER")) std::ofstream(file) << "loaded\n";
  }
} load_marker;
}  // namespace

#ifndef NOT_A_PLUGIN
namespace faulty {

class Throwing : public assim::ObservationOperator {
 public:
  static assim::Parameters parameters() { return {}; }
  explicit Throwing(const assim::Config&) { throw std::runtime_error("deliberate failure in the factory"); }
  at::Tensor apply(const at::Tensor& x) const override { return x; }
};

// Throws what no C++ code should: not a std::exception.
class ThrowingInt : public assim::ObservationOperator {
 public:
  static assim::Parameters parameters() { return {}; }
  explicit ThrowingInt(const assim::Config&) { throw 42; }
  at::Tensor apply(const at::Tensor& x) const override { return x; }
};

// A model with a stepper but no differentiable step, which 4D-Var refuses.
class StepperOnly : public assim::Model {
 public:
  static assim::Parameters parameters() { return {}; }
  explicit StepperOnly(const assim::Config&) {}
  assim::StateSpec state_spec() const override { return {"x", "x", "1", {{"site", 8, "1", 1.0}}, 1.0, "1"}; }
  at::Tensor initial_state(std::int64_t members, std::uint64_t) const override {
    return at::ones({members, 8}, at::kDouble);
  }
  struct Run : assim::Trajectory {
    at::Tensor x;
    std::int64_t n = 0;
    void advance(std::int64_t steps) override {
      for (std::int64_t s = 0; s < steps; ++s, ++n) x = 0.9 * x;
    }
    at::Tensor state() const override { return x; }
    std::int64_t steps_taken() const override { return n; }
  };
  std::unique_ptr<assim::Trajectory> start(const at::Tensor& states) const override {
    auto run = std::make_unique<Run>();
    run->x = states.clone();
    return run;
  }
};

// A model whose step asks LibTorch for more memory than any machine has:
// its CPU allocator says so with a c10::Error, not std::bad_alloc.
class AllocatorExhausted : public StepperOnly {
 public:
  explicit AllocatorExhausted(const assim::Config& config) : StepperOnly(config) {}
  struct Greedy : Run {
    void advance(std::int64_t) override { x = at::empty({std::int64_t{1} << 50}, at::kDouble); }
  };
  std::unique_ptr<assim::Trajectory> start(const at::Tensor& states) const override {
    auto run = std::make_unique<Greedy>();
    run->x = states.clone();
    return run;
  }
};

}  // namespace faulty

ASSIM_PLUGIN("faulty", "0.0.1") {
  registrar.add<faulty::Throwing>("test.throwing", "always fails to build");
  registrar.add<faulty::ThrowingInt>("test.throwing_int", "throws an int when built");
  registrar.add<faulty::StepperOnly>("test.stepper_only", "a model without a differentiable step");
  registrar.add<faulty::AllocatorExhausted>("test.allocator_exhausted", "a model whose step exhausts LibTorch's allocator");
}
#else
extern "C" int not_a_plugin() { return 42; }
#endif
