#include "products/filter_result.hpp"

#include "products/shared_schema.hpp"
#include "products/table.hpp"

namespace assim::products {

namespace {

// filter.nc's table. The repetitions' series are held flat, repetition by
// repetition.
Table filter_table(FilterResult& r) {
  const std::string& units = r.spec.units;
  const std::vector<std::string> series = {"repetition", "cycle"};
  Table t;
  t.stage = "filter";
  t.entries = {
      Dim{"repetition"},
      Dim{"cycle"},
      Variable{"time", {"cycle"}, r.spec.time_units, "", &r.times},
      Variable{"rmse_analysis", series, units, "spatial RMS of analysis mean minus truth", &r.rmse_analysis},
      Variable{"spread_analysis", series, units, "spatial RMS of the analysis ensemble std", &r.spread_analysis},
      Variable{"rmse_forecast", series, units, "spatial RMS of forecast mean minus truth", &r.rmse_forecast},
      Variable{"spread_forecast", series, units, "spatial RMS of the forecast ensemble std", &r.spread_forecast},
      Variable{"rmse_a_repetition", {"repetition"}, units,
               "rmse.a of each repetition: time mean of rmse_analysis after the burn-in (diverged ones too)",
               &r.rmse_a_repetition},
      Variable{"truth_std", {"repetition"}, units,
               "standard deviation of the truth after the burn-in, the climatology divergence_factor scales",
               &r.truth_std},
      Variable{"rmse_a_standard_error", {}, units,
               "standard error of rmse_a over the repetitions that did not diverge: their std / sqrt(count); "
               "NaN for fewer than 2",
               &r.rmse_a_standard_error}};
  t.attributes = {{"status", &r.status},
                  {"rmse_a", &r.rmse_a},
                  {"spread_a", &r.spread_a},
                  {"rmse_f", &r.rmse_f},
                  {"spread_f", &r.spread_f},
                  {"burn_in_cycles", &r.burn_in_cycles},
                  {"diverged_repetitions", &r.diverged_repetitions},
                  {"members", &r.members},
                  {"window", &r.window},
                  {"window_used", &r.window_used},
                  {"forecast_seconds_per_cycle", &r.forecast_seconds_per_cycle},
                  {"analysis_seconds_per_cycle", &r.analysis_seconds_per_cycle}};
  append(t.attributes, noise_attributes(r.design));
  t.attributes.push_back(seed_attribute(r.design));
  append(t.attributes, sampler_attributes(r.sampler));
  t.settings = &r.settings;
  return t;
}

}  // namespace

void write_filter(const std::filesystem::path& path, const FilterResult& result) {
  // The table only reads the fields it points at.
  write(path, filter_table(const_cast<FilterResult&>(result)));
}

FilterResult read_filter(const std::filesystem::path& path) {
  FilterResult r;
  const auto file = netcdf::File::open(path);
  const Table table = filter_table(r);
  r.spec.units = units_of(file, table, &r.rmse_analysis);
  r.spec.time_units = units_of(file, table, &r.times);
  read(file, table);
  return r;
}

std::vector<std::pair<std::string, const std::vector<double>*>> filter_series(const FilterResult& result) {
  FilterResult& fields = const_cast<FilterResult&>(result);  // only pointed at
  std::vector<std::pair<std::string, const std::vector<double>*>> out;
  for (const Entry& e : filter_table(fields).entries)
    if (const auto* v = std::get_if<Variable>(&e); v && v->dims == std::vector<std::string>{"repetition", "cycle"})
      out.emplace_back(v->name, std::get<std::vector<double>*>(v->field));
  return out;
}

}  // namespace assim::products
