// Whole NetCDF variables as tensors: what stages read and write most.
#pragma once

#include <assim/framework/netcdf.hpp>
#include <assim/shape.hpp>

#include <ATen/ATen.h>

#include <string>
#include <vector>

namespace assim {

// The variable as a float64 tensor of its shape.
inline at::Tensor read_tensor(const netcdf::File& file, const std::string& variable) {
  auto shape = file.shape(variable);
  auto values = file.read(variable);
  return at::from_blob(values.data(), std::vector<std::int64_t>(shape.begin(), shape.end()), at::kDouble).clone();
}

// Writes all of `values` (converted to the variable's element type T) from
// the origin of `variable`.
template <class T = double>
void write_tensor(netcdf::File& file, const std::string& variable, const at::Tensor& values) {
  at::Tensor t = values.to(std::is_same_v<T, float> ? at::kFloat : std::is_same_v<T, int> ? at::kInt : at::kDouble)
                     .contiguous();
  std::vector<std::size_t> extent;
  for (auto n : t.sizes()) extent.push_back(static_cast<std::size_t>(n));
  file.write(variable, std::vector<std::size_t>(extent.size(), 0), extent, t.data_ptr<T>());
}

}  // namespace assim
