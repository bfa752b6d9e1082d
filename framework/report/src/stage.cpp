// `run: report`: a self-contained HTML page of an experiment's results for
// people to look at: fields and error maps of one window, RMSE plots and
// heatmaps, cycling-filter curves, tables of every number drawn, and the
// stages' records. The NetCDF results stay the source of truth; the page is
// drawn from them and can be regenerated at any time.
#include <assim/framework/stage.hpp>
#include <assim/log.hpp>

#include <algorithm>

#include "field_maps.hpp"
#include "gallery.hpp"
#include "html.hpp"
#include "inputs.hpp"
#include "sections.hpp"

namespace assim {

namespace {

class Report : public Stage {
 public:
  std::string name() const override { return "report"; }
  std::string doc() const override {
    return "an HTML page of assimilate, filter and evaluate results: fields, error maps, RMSE plots, heatmaps, tables";
  }
  Parameters parameters() const override {
    Parameters p;
    p.stages("of", "the assimilate, filter and evaluate stages to show, in any mix and order").one_of({"assimilate", "filter", "evaluate"});
    p.integer("window", 0, "", "the window whose fields are drawn").at_least(0);
    p.integer("seed_index", 0, "", "which of an assimilate stage's seeds to draw (0: its first)").at_least(0);
    p.integers("frames", {}, "", "frames of the window to draw; empty: all").at_least(0);
    p.integer("pixels", 128, "px",
              "approximate size of a field's image; grids are enlarged by whole factors; at most 4096, a screen's "
              "width (each image is held whole in memory while it is encoded)")
        .at_least(16)
        .at_most(4096);
    p.string("out", "report", "", "folder of the page (index.html), its images and report.json").output_name();
    return p;
  }

  // The frames to draw index the windows of every assimilate stage shown,
  // whose observe stage's settings decide their length: a frame past them
  // is refused before anything runs, not dropped.
  void check(const Config& config, const std::map<std::string, Config>& inputs) const override {
    const auto frames = config.get<std::vector<std::int64_t>>("frames");
    if (frames.empty()) return;
    const std::int64_t last = *std::max_element(frames.begin(), frames.end());
    for (const auto& [key, observe] : inputs) {
      const std::string suffix = ".observations";
      if (key.rfind("of[", 0) != 0 || key.size() < suffix.size() ||
          key.compare(key.size() - suffix.size(), suffix.size(), suffix) != 0 ||
          key.find('.') != key.size() - suffix.size())
        continue;  // not an assimilate stage's own observe stage
      const std::string run = inputs.at(key.substr(0, key.size() - suffix.size())).path();
      const auto window = observe.get<std::int64_t>("window");
      const std::int64_t length = window != 0 ? window : inputs.at(key + ".data").get<std::int64_t>("frames");
      if (last >= length)
        config.fail("frames", "frame " + std::to_string(last) + " is past the windows of stage '" +
                                  run.substr(run.find('.') + 1) + "'" +
                                  " (" + std::to_string(length) + " frames, 0 to " + std::to_string(length - 1) + ")");
    }
  }

  void run(StageContext& context) const override {
    const Config& config = context.config();
    std::vector<report::Input> all, runs, filters, evaluations;
    for (const StageInput* stage : context.inputs("of")) {
      report::Input in = report::read_input(*stage);
      if (in.kind == "assimilate")
        runs.push_back(in);
      else if (in.kind == "filter")
        filters.push_back(in);
      else if (in.kind == "evaluate")
        evaluations.push_back(in);
      else
        config.fail("of", "stage '" + in.name + "' is a " + in.kind +
                              " stage; a report shows assimilate, filter and evaluate stages");
      all.push_back(in);
    }

    const auto folder = context.output() / config.get<std::string>("out");
    report::Gallery gallery(folder, static_cast<int>(config.get<std::int64_t>("pixels")));
    report::FieldsChoice choice{config.get<std::int64_t>("window"), config.get<std::int64_t>("seed_index"),
                                config.get<std::vector<std::int64_t>>("frames")};
    const std::string experiment = all.front().folder.parent_path().filename().string();
    std::string body = "<h1>" + report::escape(experiment) + "</h1>\n<p class=\"note\">Report of ";
    for (std::size_t i = 0; i < all.size(); ++i)
      body += (i ? ", " : "") + report::escape(all[i].name) + " (" + all[i].kind + ")";
    body += ". Every number drawn is also in a table; the images and their ranges are listed in report.json.</p>\n";
    // A sweep's plot right below the scores: it is what a sweep is run for.
    if (!evaluations.empty())
      body += report::evaluate_section(evaluations) + report::sweep_section(evaluations) +
              report::observation_section(evaluations) + report::spectrum_section(evaluations) +
              report::forecast_section(evaluations);
    if (!runs.empty()) body += report::rmse_section(runs) + report::heatmap_section(runs);
    if (!filters.empty()) body += report::filter_section(filters);
    std::vector<report::Input> provenance = all;
    if (!runs.empty()) {
      std::vector<report::RunFields> drawn;
      for (const auto& run : runs) {
        std::string why;
        auto observe = report::observations_of(run, why);
        if (observe) provenance.push_back(*observe);
        drawn.push_back({run, std::move(observe), why});
      }
      body += report::fields_section(config, drawn, choice, gallery);
    }
    body += report::provenance_section(provenance);
    body += "<h2>Opening the results</h2>\n<p class=\"note\">From the run folder, the folder of the stages' "
            "folders.</p>\n<pre>import xarray as xr\n";
    for (const auto& in : all)
      body += report::escape(in.name) + " = xr.open_dataset(\"" + report::escape(in.shown_product) + "\")\n";
    body += "</pre>\n";
    report::write_page(folder / "index.html", experiment + ": report", body);
    gallery.write_index(folder / "report.json");
    log::info("report: ", all.size(), " stages on one page, ", config.get<std::string>("out"), "/index.html");
  }
};

}  // namespace

std::unique_ptr<Stage> make_report_stage() { return std::make_unique<Report>(); }

}  // namespace assim
