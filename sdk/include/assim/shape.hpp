// Tensor shapes and numbers in messages.
#pragma once

#include <assim/abi.hpp>

#include <c10/util/ArrayRef.h>

#include <cstdint>
#include <string>

namespace assim {

// "(2, 32, 32)": a shape as numpy and xarray print it, for error messages.
// Takes sizes() of a tensor as well as a std::vector<std::int64_t>.
ASSIM_API std::string shape_text(c10::IntArrayRef shape);

// "0.05", "1e+308", "0.282481": a number as a message shows it (6 significant digits).
ASSIM_API std::string number_text(double value);

}  // namespace assim
