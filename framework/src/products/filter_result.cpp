#include "products/filter_result.hpp"

#include <assim/abi.hpp>

namespace assim::products {

void write_filter(const std::filesystem::path& path, const FilterResult& r) {
  auto file = netcdf::File::create(path);
  file.dimension("repetition", static_cast<std::size_t>(r.repetitions));
  file.dimension("cycle", static_cast<std::size_t>(r.cycles));
  file.variable("time", "double", {"cycle"});
  file.attribute("time", "units", r.spec.time_units);
  for (const char* name : {"rmse_analysis", "spread_analysis", "rmse_forecast", "spread_forecast"}) {
    file.variable(name, "double", {"repetition", "cycle"});
    file.attribute(name, "units", r.spec.units);
  }
  file.attribute("rmse_analysis", "long_name", "spatial RMS of analysis mean minus truth");
  file.attribute("spread_analysis", "long_name", "spatial RMS of the analysis ensemble std");
  file.attribute("rmse_forecast", "long_name", "spatial RMS of forecast mean minus truth");
  file.attribute("spread_forecast", "long_name", "spatial RMS of the forecast ensemble std");
  file.variable("rmse_a_repetition", "double", {"repetition"});
  file.attribute("rmse_a_repetition", "units", r.spec.units);
  file.attribute("rmse_a_repetition", "long_name",
                 "rmse.a of each repetition: time mean of rmse_analysis after the burn-in (diverged ones too)");
  file.variable("truth_std", "double", {"repetition"});
  file.attribute("truth_std", "units", r.spec.units);
  file.attribute("truth_std", "long_name",
                 "standard deviation of the truth after the burn-in, the climatology divergence_factor scales");
  file.variable("rmse_a_standard_error", "double", {});
  file.attribute("rmse_a_standard_error", "units", r.spec.units);
  file.attribute("rmse_a_standard_error", "long_name",
                 "standard error of rmse_a over the repetitions that did not diverge: their std / sqrt(count); "
                 "NaN for fewer than 2");
  file.attribute("", "Conventions", "CF-1.8");
  file.attribute("", "source", "assim " ASSIM_SDK_VERSION " filter stage");
  r.attributes.write(file);
  file.end_definitions();
  const auto cycles = static_cast<std::size_t>(r.cycles), repetitions = static_cast<std::size_t>(r.repetitions);
  file.write("time", {0}, {cycles}, r.times.data());
  const std::vector<std::size_t> start = {0, 0}, count = {repetitions, cycles};
  file.write("rmse_analysis", start, count, r.rmse_a.data());
  file.write("spread_analysis", start, count, r.spread_a.data());
  file.write("rmse_forecast", start, count, r.rmse_f.data());
  file.write("spread_forecast", start, count, r.spread_f.data());
  file.write("rmse_a_repetition", {0}, {repetitions}, r.rmse_a_repetition.data());
  file.write("truth_std", {0}, {repetitions}, r.truth_std.data());
  file.write("rmse_a_standard_error", {}, {}, &r.rmse_a_standard_error);
  file.close();
}

}  // namespace assim::products
