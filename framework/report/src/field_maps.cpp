#include "field_maps.hpp"

#include "html.hpp"

#include "products/products.hpp"
#include "products/schema.hpp"

#include <cmath>
#include <functional>
#include <optional>
#include <tuple>
#include <utility>

namespace assim::report {

namespace {

// The fields of the chosen window and seed of a run, checked against its
// windows and seeds: the state's values per frame, and the RMSE and the
// ensemble spread per frame.
struct WindowFields {
  StateSpec state;
  std::size_t frames = 0, seeds = 0;
  std::vector<double> truth, mean, spread, error, rmse, ensemble_spread;
};

WindowFields read_window(const Config& config, const Input& run, const FieldsChoice& choice) {
  const at::Tensor rmse = products::read_assimilation_scores(*run.stage).rmse;  // (window, seed, time)
  if (choice.window >= rmse.size(0))
    config.fail("window", "run '" + run.name + "' has " + std::to_string(rmse.size(0)) + " windows");
  if (choice.seed >= rmse.size(1))
    config.fail("seed_index", "run '" + run.name + "' has " + std::to_string(rmse.size(1)) + " seeds");
  const products::AssimilationResult r = products::read_assimilation_window(run.product, choice.window, choice.seed);
  WindowFields f{r.state, static_cast<std::size_t>(rmse.size(2)), static_cast<std::size_t>(rmse.size(1)),
                 values_of(r.truth), values_of(r.mean), values_of(r.spread), {}, values_of(r.rmse),
                 values_of(r.ensemble_spread)};
  for (std::size_t i = 0; i < f.truth.size(); ++i) f.error.push_back(f.mean[i] - f.truth[i]);
  return f;
}

// "layer 1" from the dim "layer"; the flat index when several dims are flattened.
std::string layer_label(const std::vector<std::string>& dims, std::size_t from, std::size_t to, std::size_t index) {
  if (to == from) return "";
  const std::string name = to - from == 1 ? dims[from] : "channel";
  return name + " " + std::to_string(index);
}

struct Row {
  std::string label;
  int bar;
  std::vector<std::string> cells;  // HTML per shown frame
};

// States with one dim (Lorenz-96's sites): truth, mean, spread and error of
// the window as pictures of time (up) by space (across).
std::string time_by_space(const Input& run, const WindowFields& drawn, const FieldsChoice& choice, Gallery& gallery) {
  if (drawn.state.dims.size() != 1)
    return "<p class=\"note\">Fields are drawn for states of one or two dimensions.</p>\n";
  const std::size_t frames = drawn.frames, sites = static_cast<std::size_t>(drawn.state.dims[0].size);
  const auto w = choice.window, s = choice.seed;
  const auto& [truth, mean, spread, error] = std::tie(drawn.truth, drawn.mean, drawn.spread, drawn.error);
  const int h = static_cast<int>(frames), width = static_cast<int>(sites);
  auto field = [&](const std::vector<double>& v) { return Field{v.data(), h, width, nullptr}; };
  if (std::isnan(finite_range({field(mean)}).first))
    return "<p class=\"note\">Window " + std::to_string(w) + ", seed " + std::to_string(s) +
           " diverged: there are no fields to show.</p>\n";
  const std::string stem = run.name + "_w" + std::to_string(w) + "_s" + std::to_string(s);
  auto bar_of = [&](const std::string& key, const std::string& label, const std::vector<Field>& fields, bool symmetric) {
    auto [lo, hi] = finite_range(fields);
    return gallery.bar(stem + "_" + key + "_bar", Scale::fit(lo, hi, symmetric), label, fields.front());
  };
  const int state_bar = bar_of("state", "truth and mean", {field(truth), field(mean)}, finite_range({field(truth)}).first < 0);
  const int spread_bar = bar_of("spread", "spread", {field(spread)}, false);
  const int error_bar = bar_of("error", "error", {field(error)}, true);
  std::string html = "<p class=\"note\">Window " + std::to_string(w) + ", seed " + std::to_string(s) + ": time " +
                     "(frames 0 to " + std::to_string(frames - 1) + ") upwards, " + std::to_string(sites) +
                     " points across.</p>\n<table class=\"fields\"><tr><th>truth</th><th>analysis mean</th><th></th>"
                     "<th>ensemble spread</th><th></th><th>error (mean &minus; truth)</th><th></th></tr>\n<tr>";
  html += "<td>" + gallery.field(stem + "_truth", field(truth), state_bar) + "</td>";
  html += "<td>" + gallery.field(stem + "_mean", field(mean), state_bar) + "</td><td>" + gallery.bar_html(state_bar) + "</td>";
  html += "<td>" + gallery.field(stem + "_spread", field(spread), spread_bar) + "</td><td>" + gallery.bar_html(spread_bar) + "</td>";
  html += "<td>" + gallery.field(stem + "_error", field(error), error_bar) + "</td><td>" + gallery.bar_html(error_bar) + "</td>";
  return html + "</tr></table>\n";
}

// The table of one window's fields on a 2-D grid: rows of one image per
// frame shown, each row beside the colour bar of its group; the ranges of
// every bar for the table under it.
class FrameTable {
 public:
  FrameTable(std::string stem, std::vector<std::size_t> shown, Gallery& gallery)
      : stem_(std::move(stem)), shown_(std::move(shown)), gallery_(gallery) {}

  const std::vector<std::size_t>& shown() const { return shown_; }

  // One bar per group of rows sharing a scale; images are named after the row and frame.
  int bar(const std::string& key, const std::string& label, const std::vector<Field>& fields,
          std::optional<bool> symmetric) {
    auto [lo, hi] = finite_range(fields);
    Scale scale = Scale::fit(lo, hi, symmetric.value_or(lo < 0));
    int bar = gallery_.bar(stem_ + "_" + key + "_bar", scale, label, fields.front());
    ranges_.push_back({escape(label), number(lo), number(hi), number(scale.lo), number(scale.hi), scale.map->name()});
    return bar;
  }

  // A row of the image at(t) of each frame shown ("not observed" where there is none).
  void add(std::vector<Row>& rows, const std::string& label, int bar, const std::string& key,
           const std::function<std::optional<Field>(std::size_t)>& at) {
    rows.push_back({label, bar, {}});
    for (std::size_t t : shown_) {
      auto f = at(t);
      rows.back().cells.push_back(f ? gallery_.field(stem_ + "_" + key + "_f" + std::to_string(t), *f, bar)
                                    : "<span>not observed</span>");
    }
  }

  std::string html(const std::vector<Row>& rows) const {
    std::string html;
    for (const auto& row : rows) {
      html += "<tr><th class=\"row\">" + row.label + "</th>";
      for (const auto& cell : row.cells)
        html += cell.rfind("<img", 0) == 0 ? "<td>" + cell + "</td>" : "<td class=\"empty\">" + cell + "</td>";
      html += "<td>" + gallery_.bar_html(row.bar) + "</td></tr>\n";
    }
    return html;
  }

  const std::vector<std::vector<std::string>>& ranges() const { return ranges_; }

 private:
  std::string stem_;
  std::vector<std::size_t> shown_;
  Gallery& gallery_;
  std::vector<std::vector<std::string>> ranges_;
};

// The rows of the state's fields, per layer: truth, mean, spread and error.
struct StateRows {
  std::vector<Row> truth, mean, spread, error;
};

StateRows state_rows(FrameTable& table, const WindowFields& fields, const std::vector<std::string>& dims,
                     std::size_t layers, int ny, int nx) {
  const std::size_t plane = static_cast<std::size_t>(ny) * static_cast<std::size_t>(nx);
  auto state = [&](const std::vector<double>& v, std::size_t t, std::size_t l) {
    return Field{&v[(t * layers + l) * plane], ny, nx, nullptr};
  };
  StateRows rows;
  for (std::size_t l = 0; l < layers; ++l) {
    const std::string layer = layer_label(dims, 0, dims.size() - 2, l), sep = layer.empty() ? "" : ", ";
    const std::string k = "l" + std::to_string(l);
    std::vector<Field> both, spreads, errors;
    for (std::size_t t : table.shown()) {
      both.push_back(state(fields.truth, t, l));
      both.push_back(state(fields.mean, t, l));
      spreads.push_back(state(fields.spread, t, l));
      errors.push_back(state(fields.error, t, l));
    }
    const int state_bar = table.bar("state_" + k, "truth and mean" + sep + layer, both, std::nullopt);
    table.add(rows.truth, "truth<br>" + escape(layer), state_bar, "truth_" + k,
              [&](std::size_t t) { return state(fields.truth, t, l); });
    table.add(rows.mean, "analysis mean<br>" + escape(layer), state_bar, "mean_" + k,
              [&](std::size_t t) { return state(fields.mean, t, l); });
    // A deterministic method (one member) has no spread: no row, rather than an empty map.
    if (!std::isnan(finite_range(spreads).first))
      table.add(rows.spread, "ensemble spread<br>" + escape(layer),
                table.bar("spread_" + k, "spread" + sep + layer, spreads, false), "spread_" + k,
                [&](std::size_t t) { return state(fields.spread, t, l); });
    table.add(rows.error, "error (mean &minus; truth)<br>" + escape(layer),
              table.bar("error_" + k, "error" + sep + layer, errors, true), "error_" + k,
              [&](std::size_t t) { return state(fields.error, t, l); });
  }
  return rows;
}

// The rows of window w's observations, one per operator channel with a
// frame shown observed; `note` says why there are none.
std::vector<Row> observation_rows(FrameTable& table, const Input& observe, std::size_t w, std::string& note) {
  std::vector<Row> rows;
  const products::ObservationSet observed = products::read_observed_window(observe.product, static_cast<std::int64_t>(w));
  const std::vector<std::int64_t> oshape = observed.observations.sizes().vec();  // (time, channels..., y, x)
  const auto& odims = observed.observation_dims;
  if (oshape.size() < 3 || observed.mask.dim() != 3) {
    note = "Observations are drawn when they lie on a 2-D grid.";
    return rows;
  }
  std::size_t channels = 1;
  for (std::size_t d = 1; d + 2 < oshape.size(); ++d) channels *= static_cast<std::size_t>(oshape[d]);
  const auto oy = static_cast<std::size_t>(oshape[oshape.size() - 2]), ox = static_cast<std::size_t>(oshape.back());
  const std::size_t oplane = oy * ox;
  const std::vector<double> observation = values_of(observed.observations);
  std::vector<int> mask;
  for (double m : values_of(observed.mask)) mask.push_back(m != 0);
  auto seen = [&](std::size_t t, std::size_t c) -> std::optional<Field> {
    for (std::size_t i = 0; i < oplane; ++i)
      if (mask[t * oplane + i])
        return Field{&observation[(t * channels + c) * oplane], static_cast<int>(oy), static_cast<int>(ox),
                     &mask[t * oplane]};
    return std::nullopt;
  };
  for (std::size_t c = 0; c < channels; ++c) {
    const std::string channel = layer_label(odims, 0, odims.size() - 2, c);
    std::vector<Field> fields;
    for (std::size_t t : table.shown())
      if (auto f = seen(t, c)) fields.push_back(*f);
    if (fields.empty()) continue;
    const std::string k = "obs_c" + std::to_string(c);
    table.add(rows, "observations<br>" + escape(channel), table.bar(k, "observations " + channel, fields, std::nullopt), k,
              [&](std::size_t t) { return seen(t, c); });
  }
  if (rows.empty()) note = "No frame shown is observed.";
  return rows;
}

// The frames the choice shows (all when it names none), checked against the run's.
std::vector<std::size_t> shown_frames(const Config& config, const Input& run, const FieldsChoice& choice,
                                      std::size_t frames) {
  std::vector<std::size_t> shown;
  for (auto f : choice.frames) {
    if (static_cast<std::size_t>(f) >= frames)
      config.fail("frames", "run '" + run.name + "' has windows of " + std::to_string(frames) + " frames");
    shown.push_back(static_cast<std::size_t>(f));
  }
  if (shown.empty())
    for (std::size_t f = 0; f < frames; ++f) shown.push_back(f);
  return shown;
}

}  // namespace

std::string fields_section(const Config& config, const Input& run, const std::optional<Input>& observe,
                           const std::string& why, const FieldsChoice& choice, Gallery& gallery) {
  const WindowFields fields = read_window(config, run, choice);
  const std::vector<std::string> dims = products::schema::state_dim_names(fields.state);
  std::string html = "<h3>" + escape(run.name) + "</h3>\n";
  if (dims.size() < 2) return html + time_by_space(run, fields, choice, gallery);
  const std::vector<std::int64_t> state_shape = fields.state.shape();
  const auto ny = static_cast<std::size_t>(state_shape[dims.size() - 2]), nx = static_cast<std::size_t>(state_shape.back());
  const std::size_t layers = fields.truth.size() / (fields.frames * ny * nx);
  const auto w = static_cast<std::size_t>(choice.window), s = static_cast<std::size_t>(choice.seed);
  const std::vector<std::size_t> shown = shown_frames(config, run, choice, fields.frames);
  const auto mean = Field{fields.mean.data(), static_cast<int>(fields.mean.size() / nx), static_cast<int>(nx), nullptr};
  if (std::isnan(finite_range({mean}).first))
    return html + "<p class=\"note\">Window " + std::to_string(w) + ", seed " + std::to_string(s) +
           " diverged: there are no fields to show.</p>\n";

  FrameTable frame_table(run.name + "_w" + std::to_string(w) + "_s" + std::to_string(s), shown, gallery);
  const StateRows state = state_rows(frame_table, fields, dims, layers, static_cast<int>(ny), static_cast<int>(nx));
  std::string obs_note = observe ? "" : "Observations are not shown: " + why + ".";
  const std::vector<Row> observed = observe ? observation_rows(frame_table, *observe, w, obs_note) : std::vector<Row>{};

  html += "<p class=\"note\">Window " + std::to_string(w) + ", seed " + std::to_string(s) + " of " +
          std::to_string(fields.seeds) + "; " + std::to_string(nx) + " &times; " + std::to_string(ny) +
          " grid, north up. Truth and analysis mean share a colour scale per layer; signed fields use a diverging "
          "map centred on 0. Unobserved points are see-through. " + escape(obs_note) + "</p>\n";
  html += "<table class=\"fields\"><tr><th></th>";
  for (std::size_t t : shown) html += "<th>frame " + std::to_string(t) + "</th>";
  html += "<th></th></tr>\n";
  for (const auto* rows : {&state.truth, &observed, &state.mean, &state.spread, &state.error}) html += frame_table.html(*rows);
  for (const auto& [label, values] : {std::pair{"RMSE", &fields.rmse}, std::pair{"spread (RMS)", &fields.ensemble_spread}}) {
    html += "<tr><th class=\"row\">" + std::string(label) + "</th>";
    for (std::size_t t : shown) html += "<td class=\"empty\">" + number((*values)[t]) + "</td>";
    html += "<td></td></tr>\n";
  }
  html += "</table>\n<details><summary>Ranges of the images above</summary>\n";
  html += table({"images", "data min", "data max", "colour bar from", "to", "map"}, frame_table.ranges());
  return html + "</details>\n";
}

}  // namespace assim::report
