// The base of every pluggable part: models, observation operators, priors, samplers.
#pragma once

#include <assim/abi.hpp>

#include <string>

namespace assim {

enum class Kind { Model, ObservationOperator, Prior, Sampler };

ASSIM_API const char* to_string(Kind kind);

class ASSIM_API Component {
 public:
  virtual ~Component();
};

}  // namespace assim
