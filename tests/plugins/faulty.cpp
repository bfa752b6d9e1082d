// Test plugins that misbehave on purpose: one source, three builds (see
// CMakeLists.txt): factories that throw, a plugin built for another ABI
// version, and a library that is no plugin at all. Every build leaves a
// mark when its code runs (ASSIM_TEST_LOAD_MARKER), so that a test can tell
// whether the host ran any of it before refusing it.
#include <assim/assim.hpp>

#include <cstdlib>
#include <fstream>

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

}  // namespace faulty

ASSIM_PLUGIN("faulty", "0.0.1") {
  registrar.add<faulty::Throwing>("test.throwing", "always fails to build");
  registrar.add<faulty::ThrowingInt>("test.throwing_int", "throws an int when built");
}
#else
extern "C" int not_a_plugin() { return 42; }
#endif
