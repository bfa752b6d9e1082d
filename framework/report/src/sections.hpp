// The page's sections other than the fields: scores, plots, and provenance.
// Each takes the inputs of its kind and returns HTML, numbers in tables
// beside the plots that draw them.
#pragma once

#include "inputs.hpp"

#include <string>
#include <vector>

namespace assim::report {

// The tables of evaluate stages.
std::string evaluate_section(const std::vector<Input>& evaluations);
// The observation-space diagnostics of evaluate stages: their table per run
// and channel, y - H(x) per frame, and the rank histograms of y.
std::string observation_section(const std::vector<Input>& evaluations);
// Each evaluation's power spectra of the analyses over the truth's, where its
// state has a 1-D or 2-D grid.
std::string spectrum_section(const std::vector<Input>& evaluations);
// Each evaluation's forecast RMSE and CRPS against lead, one line per run,
// where it was evaluated with forecasts.
std::string forecast_section(const std::vector<Input>& evaluations);
// The RMSE of the mean of evaluate stages over a sweep (their sweep.nc)
// against the first swept setting of numbers, with its standard error as
// error bars, one line per combination of the other settings.
std::string sweep_section(const std::vector<Input>& evaluations);
// RMSE per frame, one line per assimilate run (mean over windows and seeds).
std::string rmse_section(const std::vector<Input>& runs);
// RMSE over observed fraction x time interval, one heatmap per operator and method.
std::string heatmap_section(const std::vector<Input>& runs);
// RMSE and spread per cycle of filter stages.
std::string filter_section(const std::vector<Input>& filters);
// Every input's record (resolved config, components, versions) and files.
std::string provenance_section(const std::vector<Input>& inputs);

}  // namespace assim::report
