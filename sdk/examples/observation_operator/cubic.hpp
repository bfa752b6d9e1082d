// An observation operator in a few dozen lines: y = scale * x^3, element-wise.
// Build it out of tree against the installed SDK (see CMakeLists.txt beside
// this file), test it with contract_test.cpp and name its build folder in an
// experiment's plugin_path.
#pragma once

#include <assim/assim.hpp>

#include <ATen/ATen.h>

namespace example {

class Cubic : public assim::ObservationOperator {
 public:
  // The one declaration of the parameters: validation, defaults and
  // `assim plugins --verbose` all come from it.
  static assim::Parameters parameters() {
    assim::Parameters p;
    p.real("scale", 1.0, "", "factor applied to x^3").above(0);
    return p;
  }

  explicit Cubic(const assim::Config& config) : scale_(config.get<double>("scale")) {}

  // Torch operations only, so that autograd can differentiate through it.
  at::Tensor apply(const at::Tensor& x) const override { return scale_ * x.pow(3); }

 private:
  double scale_;
};

}  // namespace example
