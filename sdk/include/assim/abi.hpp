// The binary contract between the host and a plugin.
//
// A plugin is a shared library that exports two C symbols: the info record
// `assim_plugin_info` and the registration entry `assim_plugin_register`. The
// host reads the info record first and refuses a plugin whose ABI version
// differs from its own before it calls anything in the plugin.
#pragma once

#include <cstdint>

// The contract a plugin shares with the host, in libassim_sdk: the info
// record, Component and the four interfaces with their problem types, Config,
// Parameters and Registrar, the errors, logging, Progress, the workers and
// the team (these last four hold process-wide state: the log's lock, which
// progress line is outermost, how many workers run, the ranks running a stage).
#define ASSIM_API __attribute__((visibility("default")))
// The toolkit, a static library (AssimSDK::toolkit, linked into each plugin
// with AssimSDK::sdk): helpers a plugin may use (the diffusion schedule,
// score sampling, noise laws, memory checks, digests, checked file writes),
// compiled into the plugin itself, so that the plugin's digest, which every
// result it computes records, covers the helper code it runs, and a helper
// can change without a new ABI. Hidden in each binary that links it.
#define ASSIM_TOOLKIT

// Bump ASSIM_ABI_VERSION whenever a change to sdk/include/assim makes a plugin
// built against the old headers unsafe to load (a virtual function added,
// a struct changed), then record the headers with `scripts/abi_digest
// --record`: e2e.abi_guard fails while the declarations differ from those
// sdk/abi.digest holds for this version. A new piece of a problem type whose
// data lives in libassim_sdk (AssimilationProblem, EstimatorData,
// Evaluations) is new functions only: record it without a bump.
// ASSIM_SDK_VERSION is informative.
#ifndef ASSIM_ABI_VERSION
#define ASSIM_ABI_VERSION 13
#endif
#define ASSIM_SDK_VERSION "0.1.0"

extern "C" {
struct assim_plugin_info {
  std::uint32_t abi_version;
  const char* sdk_version;
  const char* name;
  const char* version;
};
}

namespace assim {
class Registrar;
}

// Declares a plugin and opens the body of its registration function (as in
// sdk/examples/observation_operator/plugin.cpp, a whole plugin):
//
// ```cpp-from sdk/examples/observation_operator/plugin.cpp
// ASSIM_PLUGIN("example_cubic", "1.0.0") {
//   registrar.add<example::Cubic>("example.cubic", "y = scale * x^3, element-wise");
// }
// ```
#define ASSIM_PLUGIN(NAME, VERSION)                                                     \
  extern "C" ASSIM_API const assim_plugin_info assim_plugin_info = {                    \
      ASSIM_ABI_VERSION, ASSIM_SDK_VERSION, NAME, VERSION};                             \
  static void assim_plugin_register_body(::assim::Registrar& registrar);                \
  extern "C" ASSIM_API void assim_plugin_register(::assim::Registrar& registrar) {      \
    assim_plugin_register_body(registrar);                                              \
  }                                                                                     \
  static void assim_plugin_register_body(::assim::Registrar& registrar)
