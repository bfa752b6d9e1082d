// Test plugins that misbehave on purpose: one source, three builds (see
// CMakeLists.txt): a factory that throws, a plugin built for another ABI
// version, and a library that is no plugin at all.
#include <assim/assim.hpp>

#ifndef NOT_A_PLUGIN
namespace faulty {

class Throwing : public assim::ObservationOperator {
 public:
  static assim::Parameters parameters() { return {}; }
  explicit Throwing(const assim::Config&) { throw std::runtime_error("deliberate failure in the factory"); }
  at::Tensor apply(const at::Tensor& x) const override { return x; }
};

}  // namespace faulty

ASSIM_PLUGIN("faulty", "0.0.1") { registrar.add<faulty::Throwing>("test.throwing", "always fails to build"); }
#else
extern "C" int not_a_plugin() { return 42; }
#endif
