#include "recheck.hpp"

#include <assim/framework/netcdf.hpp>

#include <algorithm>
#include <cstring>
#include <sstream>

namespace assim::recheck {

namespace fs = std::filesystem;

namespace {

// "" when `variable` of `again` equals its slice of `kept` bit for bit.
std::string compare_variable(const netcdf::File& kept, const netcdf::File& again, const std::string& variable,
                             const std::vector<std::string>& part_dims, Outcome& outcome) {
  const std::string where = again.path().filename().string() + ": " + variable;
  if (!kept.has_variable(variable)) return where + " is not in the kept result";
  const std::vector<std::string> dims = again.dimensions_of(variable);
  const std::vector<std::size_t> shape = again.shape(variable), whole = kept.shape(variable);
  if (dims != kept.dimensions_of(variable)) return where + " has other dims in the kept result";
  for (std::size_t d = 0; d < dims.size(); ++d) {
    const bool shrunk = std::find(part_dims.begin(), part_dims.end(), dims[d]) != part_dims.end();
    if (shrunk ? shape[d] > whole[d] : shape[d] != whole[d])
      return where + " has " + std::to_string(whole[d]) + " along " + dims[d] + " in the kept result, " +
             std::to_string(shape[d]) + " recomputed";
  }
  const std::vector<double> now = again.read(variable);
  const std::vector<double> then = kept.read(variable, std::vector<std::size_t>(shape.size(), 0), shape);
  for (std::size_t i = 0; i < now.size(); ++i)
    if (std::memcmp(&now[i], &then[i], sizeof(double)) != 0) {
      std::ostringstream out;
      out.precision(17);
      out << where << " differs at flat index " << i << ": " << then[i] << " kept, " << now[i] << " recomputed";
      return out.str();
    }
  ++outcome.variables;
  outcome.values += static_cast<std::int64_t>(now.size());
  return "";
}

}  // namespace

Outcome compare(const fs::path& kept, const fs::path& recomputed, const std::vector<std::string>& part_dims) {
  Outcome outcome;
  std::vector<fs::path> products;
  for (const auto& entry : fs::directory_iterator(recomputed))
    if (entry.is_regular_file() && entry.path().extension() == ".nc") products.push_back(entry.path().filename());
  std::sort(products.begin(), products.end());
  if (products.empty()) outcome.difference = "the recomputed part wrote no NetCDF product to compare";
  for (const auto& name : products) {
    if (!outcome.difference.empty()) break;
    if (!fs::is_regular_file(kept / name)) {
      outcome.difference = name.string() + " is not in the kept result";
      break;
    }
    const netcdf::File then = netcdf::File::open(kept / name), now = netcdf::File::open(recomputed / name);
    for (const auto& variable : now.numeric_variables()) {
      if (variable.find("seconds") != std::string::npos) continue;
      const std::vector<std::string> dims = now.dimensions_of(variable);
      const bool in_part = std::any_of(dims.begin(), dims.end(), [&](const std::string& d) {
        return std::find(part_dims.begin(), part_dims.end(), d) != part_dims.end();
      });
      if (!part_dims.empty() && !in_part) continue;  // whole-run aggregates or coordinates of the part
      outcome.difference = compare_variable(then, now, variable, part_dims, outcome);
      if (!outcome.difference.empty()) break;
    }
  }
  if (outcome.difference.empty() && outcome.variables == 0)
    outcome.difference = "the recomputed part holds no variable to compare";
  return outcome;
}

}  // namespace assim::recheck
