#include "sections.hpp"

#include "colour_map.hpp"
#include "gallery.hpp"
#include "html.hpp"
#include "svg.hpp"

#include "products/evaluation.hpp"
#include "products/filter_result.hpp"
#include "products/products.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>
#include <tuple>

namespace assim::report {

namespace {

// Mean of the finite values of v[i * stride + offset], i < count: a mean over
// repetitions that skips diverged ones.
double finite_mean(const std::vector<double>& v, std::size_t count, std::size_t stride, std::size_t offset) {
  double sum = 0;
  std::size_t n = 0;
  for (std::size_t i = 0; i < count; ++i)
    if (std::isfinite(v[i * stride + offset])) sum += v[i * stride + offset], ++n;
  return n ? sum / static_cast<double>(n) : NAN;
}

// The papers' RMSE (of one sample) per frame of an assimilate run: (window,
// seed, time) averaged over windows and seeds.
std::vector<double> rmse_per_frame(const at::Tensor& rmse_sample) {
  const auto values = values_of(rmse_sample);
  const auto runs = static_cast<std::size_t>(rmse_sample.size(0) * rmse_sample.size(1));
  const auto frames = static_cast<std::size_t>(rmse_sample.size(2));
  std::vector<double> out;
  for (std::size_t t = 0; t < frames; ++t) out.push_back(finite_mean(values, runs, frames, t));
  return out;
}

}  // namespace

std::string evaluate_section(const std::vector<Input>& evaluations) {
  std::string html = "<h2>Scores</h2>\n";
  for (const auto& e : evaluations) {
    const products::Evaluation f = products::read_evaluation(e.product);
    const auto scores = products::evaluation_scores(f);
    std::vector<std::string> header = {"run", "sampler", "needs"};
    for (const auto& c : scores) header.push_back(escape(c.variable.name));
    std::vector<std::vector<std::string>> rows;
    for (std::size_t r = 0; r < f.runs.size(); ++r) {
      std::vector<std::string> row = {escape(f.runs[r]), escape(f.samplers.at(r)), escape(f.needs.at(r))};
      for (const auto& c : scores) row.push_back(number(std::get<std::vector<double>*>(c.variable.field)->at(r)));
      rows.push_back(row);
    }
    const auto described = [&](const std::vector<double>& score) {
      for (const auto& c : scores)
        if (std::get<std::vector<double>*>(c.variable.field) == &score)
          return escape(c.variable.name) + ": " + escape(c.variable.long_name);
      return std::string();
    };
    html += "<h3>" + escape(e.name) + "</h3>\n<p class=\"note\">" + described(f.rmse_sample) + "; " +
            described(f.rmse) + "; " + described(f.calibration) + ".</p>\n" + table(header, rows);
  }
  return html;
}

std::string observation_section(const std::vector<Input>& evaluations) {
  std::string html;
  for (const auto& e : evaluations) {
    const products::Evaluation f = products::read_evaluation(e.product);
    if (!f.count_oa.defined()) continue;  // written before the diagnostics
    const auto diagnostics = products::observation_diagnostics(f);
    std::vector<std::string> header = {"run", "channel"};
    std::string notes;
    for (const auto& c : diagnostics) {
      header.push_back(escape(c.variable.name));
      notes += (notes.empty() ? "" : "; ") + escape(c.variable.name) + ": " + escape(c.variable.long_name);
    }
    std::vector<std::vector<std::string>> rows;
    for (std::size_t r = 0; r < f.runs.size(); ++r)
      for (std::int64_t k = 0; k < f.count_oa.size(1); ++k) {
        const auto at = [&](const at::Tensor& t) { return t[static_cast<std::int64_t>(r)][k].item<double>(); };
        if (!(at(f.count_oa) >= 0)) continue;  // past the run's channels
        std::vector<std::string> row = {escape(f.runs[r]), std::to_string(k)};
        for (const auto& c : diagnostics) row.push_back(number(at(*std::get<at::Tensor*>(c.variable.field))));
        rows.push_back(row);
      }
    // Desroziers's ratios per channel, y - H(x) per frame, and the rank
    // histograms of y, one colour per run.
    std::vector<Series> ratios, per_frame, ranks;
    for (std::size_t r = 0; r < f.runs.size(); ++r) {
      const auto run = static_cast<std::int64_t>(r);
      // The B ratio drawn a little right of its channel, to tell the markers apart.
      for (const auto& [name, values, shift] : {std::tuple{"R ratio", &f.desroziers_r, 0.0},
                                                 std::tuple{"B ratio", &f.desroziers_b, 0.3}}) {
        Series s{f.runs[r] + ": " + name, {}, {}, series_colour(r), false, true};
        for (std::int64_t k = 0; k < values->size(1); ++k) {
          s.x.push_back(static_cast<double>(k) + shift);
          s.y.push_back((*values)[run][k].item<double>());
        }
        ratios.push_back(s);
      }
      for (const auto& [name, values, dashed] : {std::tuple{"y - H(x_a)", &f.oma_rms_per_frame, false},
                                                  std::tuple{"y - H(x_b)", &f.omb_rms_per_frame, true}}) {
        Series s{f.runs[r] + ": " + name, {}, {}, series_colour(r), dashed};
        for (std::int64_t t = 0; t < values->size(1); ++t) {
          s.x.push_back(static_cast<double>(t));
          s.y.push_back((*values)[run][t].item<double>());
        }
        per_frame.push_back(s);
      }
      for (const auto& [name, counts, dashed] : {std::tuple{"analysis", &f.obs_rank_histogram_a, false},
                                                  std::tuple{"background", &f.obs_rank_histogram_b, true}}) {
        const at::Tensor row = (*counts)[run];
        const double total = at::nansum(row).item<double>();
        if (!(total > 0)) continue;
        Series s{f.runs[r] + ": " + name, {}, {}, series_colour(r), dashed};
        const double ranks_of_run = static_cast<double>((~at::isnan(row)).sum().item<std::int64_t>());
        for (std::int64_t k = 0; k < row.size(0); ++k) {
          s.x.push_back(static_cast<double>(k));
          // Relative to uniform: 1 for a calibrated ensemble.
          s.y.push_back(row[k].item<double>() / total * ranks_of_run);
        }
        ranks.push_back(s);
      }
    }
    html += "<h3>" + escape(e.name) + ": in observation space</h3>\n<p class=\"note\">" + notes +
            ". Absent (-): no background (O-B, the R ratio), no forecast ensemble (the B ratio, chi^2), "
            "fewer than two members kept (DFS, ranks).</p>\n" + table(header, rows);
    // Against the channel only where there are several: one channel's two
    // ratios are the table's, and a plot of them would be two markers on its border.
    if (f.desroziers_r.size(1) > 1)
      html += line_plot(ratios, {"Desroziers's ratios (1: consistent; B right of R)", "channel", "ratio"});
    html += line_plot(per_frame, {"RMS of y - H(x) per frame (dashed: background)", "frame", "RMS"});
    if (!ranks.empty())
      html += line_plot(ranks, {"Rank of y among perturbed members (dashed: background)", "rank",
                                "frequency x (M + 1)"});
  }
  return html.empty() ? html : "<h2>Observation space</h2>\n" + html;
}

std::string spectrum_section(const std::vector<Input>& evaluations) {
  std::string html;
  for (const auto& e : evaluations) {
    const products::Evaluation f = products::read_evaluation(e.product);
    if (f.wavenumber.empty()) continue;  // no 1-D or 2-D grid, or written before the spectra
    // One colour per run: its mean solid, its sample dashed.
    std::vector<Series> ratios;
    std::vector<std::string> header = {"run", "of"};
    for (const double k : f.wavenumber) header.push_back(number(k));
    std::vector<std::vector<std::string>> rows;
    for (std::size_t r = 0; r < f.runs.size(); ++r)
      for (const auto& [name, values, dashed] : {std::tuple{"mean", &f.spectral_ratio, false},
                                                  std::tuple{"sample", &f.spectral_ratio_sample, true}}) {
        Series s{f.runs[r] + ": " + name, f.wavenumber, {}, series_colour(r), dashed};
        for (std::size_t k = 0; k < f.wavenumber.size(); ++k)
          s.y.push_back((*values)[static_cast<std::int64_t>(r)][static_cast<std::int64_t>(k)].item<double>());
        if (std::none_of(s.y.begin(), s.y.end(), [](double v) { return std::isfinite(v); })) continue;
        ratios.push_back(s);
        std::vector<std::string> row = {escape(f.runs[r]), name};
        for (const double v : s.y) row.push_back(number(v));
        rows.push_back(row);
      }
    html += "<h3>" + escape(e.name) + ": power spectrum against the truth's</h3>\n<p class=\"note\">" +
            "The analysis's power per wavenumber (cycles per domain) over the truth's, mean over the frames each "
            "run scored: 1 where it has the truth's energy, below 1 where it smoothed that scale away. An ensemble's "
            "mean has at most its members' average power at each wavenumber; one member (dashed, where the "
            "samples are kept) shows whether the posterior itself lacks small scales.</p>\n" +
            line_plot(ratios, {"Analysis power / truth power", "wavenumber", "ratio"}) + table(header, rows);
  }
  return html.empty() ? html : "<h2>Spectra</h2>\n" + html;
}

std::string forecast_section(const std::vector<Input>& evaluations) {
  std::string html;
  for (const auto& e : evaluations) {
    const products::Evaluation f = products::read_evaluation(e.product);
    if (f.lead.empty()) continue;  // evaluated without forecasts
    // One colour per run, one plot per score.
    std::vector<std::string> header = {"run", "score", "members"};
    for (const double lead : f.lead) header.push_back(number(lead));
    std::vector<std::vector<std::string>> rows;
    std::string plots;
    for (const auto& [name, values] : {std::pair{"rmse_mean", &f.forecast_rmse}, std::pair{"crps", &f.forecast_crps}}) {
      std::vector<Series> lines;
      for (std::size_t r = 0; r < f.runs.size(); ++r) {
        Series s{f.runs[r], f.lead, {}, series_colour(r), false};
        for (std::size_t k = 0; k < f.lead.size(); ++k)
          s.y.push_back((*values)[static_cast<std::int64_t>(r)][static_cast<std::int64_t>(k)].item<double>());
        std::vector<std::string> row = {escape(f.runs[r]), name, number(f.forecast_members.at(r))};
        for (const double v : s.y) row.push_back(number(v));
        rows.push_back(row);
        lines.push_back(std::move(s));
      }
      plots += line_plot(lines, {std::string(name == std::string("crps") ? "Forecast CRPS" : "Forecast RMSE of the mean") +
                                     " against lead", "lead (" + f.lead_units + ")", name + std::string(" (") + f.units + ")"});
    }
    html += "<h3>" + escape(e.name) + ": forecasts from each analysis</h3>\n<p class=\"note\">A free forecast with "
            "the model evaluate names, from each run's analysis at its windows' last frame, scored against the "
            "truth's continuation and averaged over windows and seeds: the RMSE of the forecast members' mean and "
            "their fair CRPS. Lead 0 is the analysis itself. Members: those forecast per window (1: the analysis "
            "mean, where the samples were not kept).</p>\n" + plots + table(header, rows);
  }
  return html.empty() ? html : "<h2>Forecasts</h2>\n" + html;
}

std::string sweep_section(const std::vector<Input>& evaluations) {
  constexpr std::size_t most_lines = 12;  // more would not be told apart
  std::string html;
  for (const auto& e : evaluations) {
    const auto path = e.folder / e.stage->settings.get<std::string>("sweep_out");
    if (!std::filesystem::exists(path)) continue;
    const products::SweepEvaluation s = products::read_sweep(path);
    std::size_t x = 0;
    while (x < s.dims.size() && !(s.dims[x].labels.empty() && s.dims[x].size() > 1)) ++x;
    if (x == s.dims.size()) continue;  // no setting of numbers to draw against
    const auto& along = s.dims[x];
    const std::int64_t n = along.size();
    // (the other settings' combinations, x), the other settings in their order.
    const auto score = values_of(s.scores.at("rmse").movedim(static_cast<std::int64_t>(x), -1).contiguous());
    const auto error = values_of(s.errors.at("rmse").movedim(static_cast<std::int64_t>(x), -1).contiguous());
    const std::size_t lines = score.size() / static_cast<std::size_t>(n);
    std::vector<Series> series;
    std::vector<std::vector<std::string>> rows;
    std::vector<std::string> header;
    for (std::size_t d = 0; d < s.dims.size(); ++d)
      if (d != x) header.push_back(escape(s.dims[d].name));
    header.push_back(escape(along.name));
    header.insert(header.end(), {"rmse", "rmse_se"});
    for (std::size_t line = 0; line < lines; ++line) {
      // The line's settings: its index unravelled over the other dimensions, the last fastest.
      std::vector<std::string> settings;
      std::string name;
      for (std::size_t d = s.dims.size(), rest = line; d-- > 0;) {
        if (d == x) continue;
        const auto size = static_cast<std::size_t>(s.dims[d].size()), i = rest % size;
        rest /= size;
        const std::string value = s.dims[d].labels.empty() ? number(s.dims[d].numbers[i]) : s.dims[d].labels[i];
        settings.insert(settings.begin(), escape(value));
        name = s.dims[d].name + " " + value + (name.empty() ? "" : ", " + name);
      }
      Series line_series{name.empty() ? "rmse" : name, along.numbers, {}, series_colour(line), false, false, {}};
      for (std::int64_t i = 0; i < n; ++i) {
        const std::size_t at = line * static_cast<std::size_t>(n) + static_cast<std::size_t>(i);
        line_series.y.push_back(score[at]);
        line_series.error.push_back(error[at]);
        std::vector<std::string> row = settings;
        row.insert(row.end(), {number(along.numbers[static_cast<std::size_t>(i)]), number(score[at]), number(error[at])});
        rows.push_back(row);
      }
      if (line < most_lines) series.push_back(std::move(line_series));
    }
    html += "<h3>" + escape(e.name) + "</h3>\n";
    if (lines > most_lines)
      html += "<p class=\"note\">The first " + std::to_string(most_lines) + " of " + std::to_string(lines) +
              " lines are drawn; the table holds them all.</p>\n";
    html += line_plot(series, {"RMSE of the mean against " + along.name, along.name, "RMSE (" + s.units + ")"}) +
            "\n" + table(header, rows);
  }
  if (html.empty()) return html;
  return "<h2>Scores over the sweep</h2>\n<p class=\"note\">RMSE of the ensemble mean, averaged over frames, windows "
         "and seeds, against the first swept setting of numbers; the bars are its standard error over windows and "
         "seeds (the evaluate stage's sweep.nc).</p>\n" + html;
}

std::string rmse_section(const std::vector<Input>& runs) {
  std::vector<Series> series;
  std::vector<std::vector<std::string>> rows;
  std::size_t frames = 0;
  std::string units;
  for (std::size_t r = 0; r < runs.size(); ++r) {
    const products::AssimilationResult f = products::read_assimilation_scores(*runs[r].stage);
    const std::string& u = f.state.units;
    if (units.find(u) == std::string::npos) units += (units.empty() ? "" : ", ") + u;
    Series s{runs[r].name + " (" + f.sampler.text() + ")", {}, rmse_per_frame(f.rmse_sample), series_colour(r), false};
    std::vector<std::string> row = {escape(runs[r].name)};
    for (std::size_t t = 0; t < s.y.size(); ++t) {
      s.x.push_back(static_cast<double>(t));
      row.push_back(number(s.y[t]));
    }
    frames = std::max(frames, s.y.size());
    rows.push_back(row);
    series.push_back(std::move(s));
  }
  std::vector<std::string> header = {"run"};
  for (std::size_t t = 0; t < frames; ++t) header.push_back("frame " + std::to_string(t));
  return "<h2>RMSE per frame</h2>\n<p class=\"note\">RMSE of one posterior sample over layers and grid (the "
         "papers' metric), in the units each run was scored in (" + escape(units) + "; 1: states divided by their "
         "std), averaged over the samples and every window and seed of each run.</p>\n" +
         line_plot(series, {"RMSE per frame", "frame of the window", "RMSE"}) + "\n" + table(header, rows);
}

std::string heatmap_section(const std::vector<Input>& runs) {
  struct Cell {
    double sum = 0;
    int n = 0;
  };
  // A row of a map: the mask design, ordered by observed fraction (largest
  // first), so that a stride and a random mask of one fraction stay apart.
  struct Row {
    double fraction;
    std::string design;
    bool operator<(const Row& o) const { return fraction != o.fraction ? fraction > o.fraction : design < o.design; }
  };
  // (operator, method, setting) -> (mask design, interval) -> runs' RMSE.
  using Key = std::tuple<std::string, std::string, std::string>;
  std::map<Key, std::map<std::pair<Row, double>, Cell>> groups;
  std::vector<std::vector<std::string>> rows;
  double lo = INFINITY, hi = -INFINITY;
  for (const auto& run : runs) {
    const products::AssimilationResult f = products::read_assimilation_scores(*run.stage);
    const products::ObservationDesign& observed = f.design;
    const auto all = values_of(f.rmse_sample);
    const double rmse = finite_mean(all, all.size(), 1, 0);
    // Two decimals: runs drawn with the same nominal fraction land in one cell.
    const double fraction = std::round(observed.mask_fraction * 100) / 100;
    const std::string design = !observed.mask_design.empty() && observed.mask_design != "all"
                                   ? observed.mask_design
                                   : "fraction " + number(fraction, 3);
    const auto every = static_cast<double>(observed.every);
    const std::string setting = std::isnan(observed.background_sigma) ? "no background" : "with background";
    Cell& cell = groups[{observed.operator_type, f.sampler.text(), setting}][{{fraction, design}, every}];
    cell.sum += rmse;
    ++cell.n;
    rows.push_back({escape(run.name), escape(observed.operator_type), escape(f.sampler.text()), setting,
                    escape(design), number(every), number(rmse)});
  }
  std::vector<Heatmap> maps;
  for (const auto& [key, cells] : groups) {
    if (cells.size() < 2) continue;  // one design is a number, in the table, not a map
    Heatmap m;
    m.id = std::to_string(maps.size());
    m.title = std::get<0>(key) + ", " + std::get<1>(key) + ", " + std::get<2>(key);
    m.x_label = "time interval between observed frames";
    m.y_label = "observed points";
    std::set<Row> designs;
    std::set<double> intervals;
    for (const auto& [at, cell] : cells) designs.insert(at.first), intervals.insert(at.second);
    for (double e : intervals) m.columns.push_back(number(e));
    for (const auto& d : designs) {
      m.rows.push_back(d.design);
      for (double e : intervals) {
        auto it = cells.find({d, e});
        double v = it == cells.end() ? NAN : it->second.sum / it->second.n;
        m.values.push_back(v);
        if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
      }
    }
    maps.push_back(std::move(m));
  }
  std::string html =
      "<h2>RMSE over observation settings</h2>\n<p class=\"note\">RMSE of one sample (the papers' metric), mean over "
      "samples, frames, windows and seeds per run, by the observed points of the grid (mask design) and the interval "
      "(in frames) between observed frames";
  if (maps.empty()) {
    html += ". Each method ran with one observation setting: there is no map to draw.</p>\n";
  } else {
    html += ", one map per observation operator, method and setting (with or without a background) that ran with "
            "several, all on one colour scale (as figures 5 and 9 of the papers). Runs with the same settings share a "
            "cell, which shows their mean.</p>\n<div class=\"plots\">";
    if (!(lo <= hi)) lo = hi = 0;
    const Scale scale = Scale::fit(lo, hi, false);
    for (const auto& m : maps) html += heatmap(m, scale) + "\n";
    html += "</div>\n";
  }
  return html + table({"run", "operator", "method", "setting", "observed points", "interval", "RMSE"}, rows);
}

std::string filter_section(const std::vector<Input>& filters) {
  std::string html = "<h2>Cycling filters</h2>\n";
  std::vector<std::vector<std::string>> summary;
  std::string plots = "<div class=\"plots\">", details;
  for (const auto& in : filters) {
    const products::FilterResult f = products::read_filter(in.product);
    const auto reps = static_cast<std::size_t>(f.repetitions()), cycles = static_cast<std::size_t>(f.cycles());
    std::string units = f.spec.time_units;
    double divide = 1;
    if (units == "s") divide = 86400, units = "days";
    std::vector<Series> series;
    // Analysis and forecast, each its error (solid) and spread (dashed).
    const auto shown = products::filter_series(f);
    std::vector<std::vector<double>> means;
    for (std::size_t k = 0; k < shown.size(); ++k) {
      Series s{shown[k].first, {}, {}, series_colour(k / 2), k % 2 == 1};
      for (std::size_t c = 0; c < cycles; ++c) {
        s.x.push_back(f.times[c] / divide);
        s.y.push_back(finite_mean(*shown[k].second, reps, cycles, c));
      }
      means.push_back(s.y);
      series.push_back(std::move(s));
    }
    const std::string& state_units = f.spec.units;
    plots += line_plot(series, {in.name + " (" + f.sampler.text() + ")", "time (" + units + ")",
                                "RMS" + (state_units.empty() ? "" : " (" + state_units + ")")}) + "\n";
    summary.push_back({escape(in.name), escape(f.sampler.text()), number(f.rmse_a), number(f.spread_a),
                       number(f.rmse_f), number(f.spread_f), number(static_cast<double>(f.burn_in_cycles)),
                       number(static_cast<double>(f.members)), number(static_cast<double>(f.diverged_repetitions)),
                       std::to_string(reps)});
    std::vector<std::string> header = {"cycle", "time (" + escape(units) + ")"};
    for (const auto& [name, values] : shown) header.push_back(name);
    std::vector<std::vector<std::string>> per_cycle;
    for (std::size_t c = 0; c < cycles; ++c)
      per_cycle.push_back({std::to_string(c), number(f.times[c] / divide, 6), number(means[0][c]), number(means[1][c]),
                           number(means[2][c]), number(means[3][c])});
    details += "<details><summary>" + escape(in.name) + ": every cycle (mean over repetitions)</summary>\n" +
               table(header, per_cycle) +
               "</details>\n";
  }
  html += "<p class=\"note\">Spatial RMS of the ensemble mean's error (solid) and of the ensemble spread (dashed), "
          "analysis and forecast, averaged over repetitions. rmse.a and friends are the time means after the "
          "burn-in.</p>\n" + plots + "</div>\n";
  html += table({"filter", "sampler", "rmse.a", "spread.a", "rmse.f", "spread.f", "burn-in", "members", "diverged",
                 "repetitions"},
                summary);
  return html + details;
}

std::string provenance_section(const std::vector<Input>& inputs) {
  std::string html = "<h2>Configuration and provenance</h2>\n<p class=\"note\">Each stage's record as the runner "
                     "wrote it: the resolved settings with every default filled in, the components and the plugins "
                     "that made them, the hashes of its inputs and the versions. The results are the NetCDF files "
                     "named, relative to the run folder (the folder of the stages' folders); files elsewhere on the "
                     "machine are named by their file name alone. This page is drawn from them.</p>\n";
  // An observe stage that several runs read is listed once.
  std::set<std::filesystem::path> listed;
  for (const auto& in : inputs) {
    if (!listed.insert(in.folder).second) continue;
    html += "<details><summary>" + escape(in.name) + " (" + escape(in.kind) + "): " + escape(in.shown_product) +
            "</summary>\n<pre>" + escape(in.record_text) + "</pre></details>\n";
  }
  return html;
}

}  // namespace assim::report
