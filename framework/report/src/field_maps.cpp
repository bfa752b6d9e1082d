#include "field_maps.hpp"

#include "html.hpp"
#include "svg.hpp"

#include "products/products.hpp"
#include "products/schema.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
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
  // The state's dims, and its grid: the last two dims (ny x nx) of a 2-D
  // state, each layer a plane, or the points (nx) of a 1-D one (ny = 0).
  std::vector<std::string> dims;
  std::size_t layers = 1, ny = 0, nx = 0;
  bool line() const { return dims.size() == 1; }
  bool diverged() const {
    return std::isnan(finite_range({Field{mean.data(), 1, static_cast<int>(mean.size())}}).first);
  }
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
  f.dims = products::schema::state_dim_names(f.state);
  const std::vector<std::int64_t> shape = f.state.shape();
  f.nx = static_cast<std::size_t>(shape.back());
  if (f.dims.size() >= 2) {
    f.ny = static_cast<std::size_t>(shape[shape.size() - 2]);
    f.layers = f.truth.size() / (f.frames * f.ny * f.nx);
  }
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

// A 1-D state's window (frames x points) as a picture of time (up) by space
// (across), stretched so that the points and the frames are bands wide
// enough to read: about two field images wide (four pictures and their bars
// fit a screen's width), and at least half as tall.
Field line_picture(const std::vector<double>& values, std::size_t frames, std::size_t points, int pixels) {
  const auto h = static_cast<int>(frames), w = static_cast<int>(points);
  const int zoom_x = std::max(1, static_cast<int>(std::lround(2.0 * pixels / w)));
  const int zoom_y = std::max(zoom_x, (w * zoom_x / 2 + h - 1) / h);
  return Field{values.data(), h, w, nullptr, zoom_x, zoom_y};
}

// The observations of window w on a 1-D state's points, NaN where a point is
// not observed; empty, with `note` saying why, when they cannot be drawn
// over the state (another operator's space, another shape).
std::vector<double> line_observations(const Input& observe, std::size_t w, std::size_t frames, std::size_t points,
                                      std::string& note) {
  const products::ObservationSet observed =
      products::read_observed_window(observe.product, static_cast<std::int64_t>(w));
  const std::string& op = observed.design.operator_type;
  if (op != "obs.identity") {
    note = "The observations (of " + op + ") are in another space than the state and are not drawn over it.";
    return {};
  }
  if (observed.observations.numel() != static_cast<std::int64_t>(frames * points) ||
      observed.mask.numel() != static_cast<std::int64_t>(frames * points)) {
    note = "The observations do not lie on the state's points and are not drawn.";
    return {};
  }
  std::vector<double> values = values_of(observed.observations);
  const std::vector<double> mask = values_of(observed.mask);
  for (std::size_t i = 0; i < values.size(); ++i)
    if (mask[i] == 0) values[i] = NAN;
  return values;
}

// A 1-D state (Lorenz-96's sites, any line): per frame shown, truth,
// observations and the analysis mean with mean +- spread as lines over the
// points; then the whole window as time-by-space pictures of truth, mean,
// spread and error, the error on the scale every run on the page shares.
std::string line_fields(const Input& run, const WindowFields& drawn, const std::optional<Input>& observe,
                        const std::string& why, const FieldsChoice& choice, const std::vector<std::size_t>& shown,
                        int error_bar, Gallery& gallery) {
  const std::size_t frames = drawn.frames, points = static_cast<std::size_t>(drawn.state.dims[0].size);
  const auto w = static_cast<std::size_t>(choice.window), s = static_cast<std::size_t>(choice.seed);
  std::string note = observe ? "" : "Observations are not shown: " + why + ".";
  const std::vector<double> observed =
      observe ? line_observations(*observe, w, frames, points, note) : std::vector<double>{};
  const Field spreads{drawn.spread.data(), 1, static_cast<int>(drawn.spread.size())};
  const bool spread = !std::isnan(finite_range({spreads}).first);  // one member: none
  const std::string units = drawn.state.units.empty() ? "" : " (" + drawn.state.units + ")";

  std::string html = "<p class=\"note\">Window " + std::to_string(w) + ", seed " + std::to_string(s) + " of " +
                     std::to_string(drawn.seeds) + "; " + std::to_string(points) + " points. Per frame: the truth, " +
                     (observed.empty() ? "" : "the observations, ") + "the analysis mean" +
                     (spread ? " and the mean &plusmn; the ensemble spread (dashed)" : " (one member: no spread)") +
                     ". " + escape(note) + "</p>\n<div class=\"plots\">";
  for (std::size_t t : shown) {
    std::vector<Series> series(2);
    series[0] = {"truth", {}, {}, "#000000"};
    series[1] = {"analysis mean", {}, {}, series_colour(0)};
    if (!observed.empty()) series.push_back({"observations", {}, {}, series_colour(1), false, true});
    if (spread) {
      series.push_back({"mean + spread", {}, {}, series_colour(0), true});
      series.push_back({"mean − spread", {}, {}, series_colour(0), true});
    }
    for (std::size_t i = 0; i < points; ++i) {
      const std::size_t at = t * points + i;
      for (auto& line : series) line.x.push_back(static_cast<double>(i));
      series[0].y.push_back(drawn.truth[at]);
      series[1].y.push_back(drawn.mean[at]);
      std::size_t k = 2;
      if (!observed.empty()) series[k++].y.push_back(observed[at]);
      if (spread) {
        series[k++].y.push_back(drawn.mean[at] + drawn.spread[at]);
        series[k++].y.push_back(drawn.mean[at] - drawn.spread[at]);
      }
    }
    html += line_plot(series, {run.name + ", frame " + std::to_string(t), "point", "state" + units}) + "\n";
  }
  html += "</div>\n";

  const int pixels = gallery.pixels();
  auto picture = [&](const std::vector<double>& v) { return line_picture(v, frames, points, pixels); };
  const std::string stem = run.name + "_w" + std::to_string(w) + "_s" + std::to_string(s);
  auto [lo, hi] = finite_range({picture(drawn.truth), picture(drawn.mean)});
  const bool signed_truth = finite_range({picture(drawn.truth)}).first < 0;
  const int state_bar =
      gallery.bar(stem + "_state_bar", Scale::fit(lo, hi, signed_truth), "truth and mean", picture(drawn.truth));
  html += "<p class=\"note\">The window: time (frames 0 to " + std::to_string(frames - 1) + ") upwards, the " +
          std::to_string(points) + " points across.</p>\n<div class=\"scroll\"><table class=\"fields\"><tr>"
          "<th>truth</th><th>analysis mean</th><th></th>" + (spread ? "<th>ensemble spread</th><th></th>" : "") +
          "<th>error (mean &minus; truth)</th><th></th></tr>\n<tr>";
  html += "<td>" + gallery.field(stem + "_truth", picture(drawn.truth), state_bar) + "</td>";
  html += "<td>" + gallery.field(stem + "_mean", picture(drawn.mean), state_bar) + "</td><td>" +
          gallery.bar_html(state_bar) + "</td>";
  if (spread) {
    auto [slo, shi] = finite_range({picture(drawn.spread)});
    const int spread_bar =
        gallery.bar(stem + "_spread_bar", Scale::fit(slo, shi, false), "spread", picture(drawn.spread));
    html += "<td>" + gallery.field(stem + "_spread", picture(drawn.spread), spread_bar) + "</td><td>" +
            gallery.bar_html(spread_bar) + "</td>";
  }
  html += "<td>" + gallery.field(stem + "_error", picture(drawn.error), error_bar) + "</td><td>" +
          gallery.bar_html(error_bar) + "</td></tr></table></div>\n";

  std::vector<std::string> header = {""};
  std::vector<std::vector<std::string>> rows = {{"RMSE"}, {"spread (RMS)"}};
  for (std::size_t t : shown) {
    header.push_back("frame " + std::to_string(t));
    rows[0].push_back(number(drawn.rmse[t]));
    rows[1].push_back(number(drawn.ensemble_spread[t]));
  }
  return html + table(header, rows);
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

  // A bar drawn for several tables (the error scale every run shares), listed among this table's ranges.
  void shared(int bar) {
    const Scale& scale = gallery_.scale(bar);
    ranges_.push_back({escape(gallery_.label(bar)), number(scale.data_min), number(scale.data_max), number(scale.lo),
                       number(scale.hi), scale.map->name()});
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

// A layer of a 2-D state at frame t.
Field plane(const WindowFields& fields, const std::vector<double>& v, std::size_t t, std::size_t l) {
  return Field{&v[(t * fields.layers + l) * fields.ny * fields.nx], static_cast<int>(fields.ny),
               static_cast<int>(fields.nx), nullptr};
}

StateRows state_rows(FrameTable& table, const WindowFields& fields, const std::vector<int>& error_bars) {
  const std::vector<std::string>& dims = fields.dims;
  const std::size_t layers = fields.layers;
  auto state = [&](const std::vector<double>& v, std::size_t t, std::size_t l) { return plane(fields, v, t, l); };
  StateRows rows;
  for (std::size_t l = 0; l < layers; ++l) {
    const std::string layer = layer_label(dims, 0, dims.size() - 2, l), sep = layer.empty() ? "" : ", ";
    const std::string k = "l" + std::to_string(l);
    std::vector<Field> both, spreads;
    for (std::size_t t : table.shown()) {
      both.push_back(state(fields.truth, t, l));
      both.push_back(state(fields.mean, t, l));
      spreads.push_back(state(fields.spread, t, l));
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
    table.shared(error_bars[l]);
    table.add(rows.error, "error (mean &minus; truth)<br>" + escape(layer), error_bars[l], "error_" + k,
              [&](std::size_t t) { return state(fields.error, t, l); });
  }
  return rows;
}

// The rows of window w's observations, one per operator channel with a
// frame shown observed; `note` says why there are none.
std::vector<Row> observation_rows(FrameTable& table, const Input& observe, std::size_t w, std::string& note) {
  std::vector<Row> rows;
  const products::ObservationSet observed =
      products::read_observed_window(observe.product, static_cast<std::int64_t>(w));
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

// The error images a run shows, per layer: a 2-D state's planes of the frames
// shown, or a 1-D state's window as one picture.
std::vector<std::vector<Field>> error_fields(const WindowFields& fields, const std::vector<std::size_t>& shown,
                                             int pixels) {
  if (fields.line()) return {{line_picture(fields.error, fields.frames, fields.nx, pixels)}};
  std::vector<std::vector<Field>> out(fields.layers);
  for (std::size_t l = 0; l < fields.layers; ++l)
    for (std::size_t t : shown) out[l].push_back(plane(fields, fields.error, t, l));
  return out;
}

// A 2-D state: a table of a row of images per field and layer, one column per frame shown.
std::string grid_fields(const Input& run, const WindowFields& fields, const std::optional<Input>& observe,
                        const std::string& why, const FieldsChoice& choice, const std::vector<std::size_t>& shown,
                        const std::vector<int>& error_bars, Gallery& gallery) {
  const auto w = static_cast<std::size_t>(choice.window), s = static_cast<std::size_t>(choice.seed);
  FrameTable frame_table(run.name + "_w" + std::to_string(w) + "_s" + std::to_string(s), shown, gallery);
  const StateRows state = state_rows(frame_table, fields, error_bars);
  std::string obs_note = observe ? "" : "Observations are not shown: " + why + ".";
  const std::vector<Row> observed = observe ? observation_rows(frame_table, *observe, w, obs_note) : std::vector<Row>{};

  std::string html = "<p class=\"note\">Window " + std::to_string(w) + ", seed " + std::to_string(s) + " of " +
                     std::to_string(fields.seeds) + "; " + std::to_string(fields.nx) + " &times; " +
                     std::to_string(fields.ny) + " grid, north up. Truth and analysis mean share a colour scale per "
                     "layer; signed fields use a diverging map centred on 0. Unobserved points are see-through. " +
                     escape(obs_note) + "</p>\n";
  html += "<div class=\"scroll\"><table class=\"fields\"><tr><th></th>";
  for (std::size_t t : shown) html += "<th>frame " + std::to_string(t) + "</th>";
  html += "<th></th></tr>\n";
  for (const auto* rows : {&state.truth, &observed, &state.mean, &state.spread, &state.error}) html += frame_table.html(*rows);
  for (const auto& [label, values] : {std::pair{"RMSE", &fields.rmse}, std::pair{"spread (RMS)", &fields.ensemble_spread}}) {
    html += "<tr><th class=\"row\">" + std::string(label) + "</th>";
    for (std::size_t t : shown) html += "<td class=\"empty\">" + number((*values)[t]) + "</td>";
    html += "<td></td></tr>\n";
  }
  html += "</table></div>\n<details><summary>Ranges of the images above</summary>\n";
  html += table({"images", "data min", "data max", "colour bar from", "to", "map"}, frame_table.ranges());
  return html + "</details>\n";
}

}  // namespace

std::string fields_section(const Config& config, const std::vector<RunFields>& runs, const FieldsChoice& choice,
                           Gallery& gallery) {
  std::vector<WindowFields> windows;
  std::vector<std::vector<std::size_t>> shown;
  for (const auto& r : runs) {
    windows.push_back(read_window(config, r.run, choice));
    shown.push_back(shown_frames(config, r.run, choice, windows.back().frames));
  }
  // One error scale per state shape and layer for every run on the page, so
  // that the methods' errors compare by colour: the bar is drawn once and
  // named by every run's error images.
  using Layer = std::pair<std::vector<std::int64_t>, std::size_t>;
  std::map<Layer, std::vector<Field>> errors;
  for (std::size_t r = 0; r < runs.size(); ++r) {
    if (windows[r].dims.empty() || windows[r].diverged()) continue;
    const auto by_layer = error_fields(windows[r], shown[r], gallery.pixels());
    for (std::size_t l = 0; l < by_layer.size(); ++l) {
      auto& all = errors[{windows[r].state.shape(), l}];
      all.insert(all.end(), by_layer[l].begin(), by_layer[l].end());
    }
  }
  const std::string stem = "w" + std::to_string(choice.window) + "_s" + std::to_string(choice.seed) + "_error";
  std::map<Layer, int> bars;
  for (const auto& [layer, fields] : errors) {
    const auto [lo, hi] = finite_range(fields);
    std::string shape;
    for (auto n : layer.first) shape += (shape.empty() ? "" : "x") + std::to_string(n);
    const std::string name = stem + "_" + shape + "_l" + std::to_string(layer.second) + "_bar";
    const std::string label =
        "error, every run" + (layer.first.size() > 2 ? ", layer " + std::to_string(layer.second) : std::string());
    bars[layer] = gallery.bar(name, Scale::fit(lo, hi, true), label, fields.front());
  }

  std::string html = "<h2>Fields, window " + std::to_string(choice.window) + "</h2>\n<p class=\"note\">The errors of "
                     "every run share one colour scale (per layer), so that the methods compare by colour.</p>\n";
  for (std::size_t r = 0; r < runs.size(); ++r) {
    const WindowFields& fields = windows[r];
    html += "<h3>" + escape(runs[r].run.name) + "</h3>\n";
    if (fields.dims.empty()) {
      html += "<p class=\"note\">Fields are drawn for states of one or two dimensions.</p>\n";
      continue;
    }
    if (fields.diverged()) {
      html += "<p class=\"note\">Window " + std::to_string(choice.window) + ", seed " + std::to_string(choice.seed) +
              " diverged: there are no fields to show.</p>\n";
      continue;
    }
    std::vector<int> error_bars;
    for (std::size_t l = 0; l < (fields.line() ? 1 : fields.layers); ++l)
      error_bars.push_back(bars.at({fields.state.shape(), l}));
    html += fields.line() ? line_fields(runs[r].run, fields, runs[r].observe, runs[r].why, choice, shown[r],
                                        error_bars[0], gallery)
                          : grid_fields(runs[r].run, fields, runs[r].observe, runs[r].why, choice, shown[r],
                                        error_bars, gallery);
  }
  return html;
}

}  // namespace assim::report
