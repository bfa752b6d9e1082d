// Tensor shapes and numbers in messages.
#pragma once

#include <assim/abi.hpp>

#include <c10/util/ArrayRef.h>

#include <cstdint>
#include <string>
#include <vector>

namespace assim {

// "(2, 32, 32)": a shape as numpy and xarray print it, for error messages.
// Takes sizes() of a tensor as well as a std::vector<std::int64_t>.
ASSIM_API std::string shape_text(c10::IntArrayRef shape);

// "0.05", "1e+308", "0.282481": a number as a message shows it (6 significant digits).
ASSIM_API std::string number_text(double value);

// A state frame's dims as (channels, grid...): a frame of rank 3 is
// (channels, y, x); one of rank 1 (sites: Lorenz-96) or 2 (y, x) has no
// channel axis and is one channel, so that (1, sites) or (1, y, x) is
// returned. SOAD's augmented z = (x, H(x)) stacks along this axis.
ASSIM_API std::vector<std::int64_t> with_channel_axis(const std::vector<std::int64_t>& frame);

}  // namespace assim
