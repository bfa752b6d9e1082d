#include "products/observation_file.hpp"

#include "products/schema.hpp"
#include "products/tensor_io.hpp"

#include <assim/error.hpp>
#include <assim/framework/duration.hpp>
#include <assim/observation_operator.hpp>
#include <assim/shape.hpp>

#include <c10/util/accumulate.h>

#include <cmath>
#include <map>

namespace assim::products {

namespace {

const char* const layout_text =
    "an observation file holds MetaData/window, MetaData/time, MetaData/<grid dim>, ObsValue/<variable> and "
    "ObsError/<variable>, optionally PreQC/<variable> (see framework/src/products/observation_file.hpp)";

// The grid dims of the state (those with a spacing), in order.
std::vector<Dimension> grid_dims(const StateSpec& state) {
  std::vector<Dimension> out;
  for (const auto& d : state.dims)
    if (d.spacing > 0) out.push_back(d);
  return out;
}

// The file's reading, each failure naming the file and the variable.
class Reader {
 public:
  explicit Reader(const std::filesystem::path& path) : file_(netcdf::File::open(path)) {}

  [[noreturn]] void fail(const std::string& variable, const std::string& why) const {
    throw Error(file_.path().string() + ": " + variable + ": " + why);
  }

  // A variable the layout requires, of `shape`; its values.
  std::vector<double> required(const std::string& variable, const std::vector<std::size_t>& shape) const {
    if (!file_.has_variable(variable)) fail(variable, std::string("missing: ") + layout_text);
    const auto stored = file_.shape(variable);
    if (stored != shape) {
      std::vector<std::int64_t> has(stored.begin(), stored.end()), wanted(shape.begin(), shape.end());
      fail(variable, "has shape " + shape_text(has) + ", not " + shape_text(wanted) + " (Location" +
                         (shape.size() > 1 ? ", Channel)" : ")"));
    }
    return file_.read(variable);
  }

  const netcdf::File& file() const { return file_; }

 private:
  netcdf::File file_;
};

// A coordinate in grid units (cell i's centre, at (i + 0.5) x spacing, is at
// i), refused outside [0, size x spacing).
double grid_units(const Reader& reader, const std::string& variable, const Dimension& dim, double coordinate,
                  std::size_t location) {
  const double extent = static_cast<double>(dim.size) * dim.spacing;
  if (!(coordinate >= 0 && coordinate < extent))
    reader.fail(variable, "location " + std::to_string(location) + " at " + number_text(coordinate) +
                              " is outside the domain [0, " + number_text(extent) + ") " + dim.units);
  return coordinate / dim.spacing - 0.5;
}

// Whether a place in grid units is a grid point (a centre, to rounding).
bool on_grid_point(double cell) { return std::abs(cell - std::nearbyint(cell)) <= 1e-6; }

}  // namespace

FileObservations read_observation_file(const std::filesystem::path& path, const ObservationPlaces& places) {
  const Reader reader(path);
  const std::string value_name = "ObsValue/" + places.variable, error_name = "ObsError/" + places.variable,
                    flag_name = "PreQC/" + places.variable;
  const std::vector<Dimension> grid = grid_dims(places.state);
  const std::size_t grid_rank = grid.size();
  const std::vector<std::int64_t> channel_shape(places.observed.begin(), places.observed.end() - static_cast<std::ptrdiff_t>(grid_rank));
  const std::int64_t channels = c10::multiply_integers(channel_shape);

  if (!reader.file().has_variable(value_name)) reader.fail(value_name, std::string("missing: ") + layout_text);
  const std::size_t locations = reader.file().shape(value_name).empty() ? 0 : reader.file().shape(value_name)[0];
  std::vector<std::size_t> value_shape = {locations};
  if (!channel_shape.empty()) value_shape.push_back(static_cast<std::size_t>(channels));
  const std::vector<double> values = reader.required(value_name, value_shape);
  const std::vector<double> errors = reader.required(error_name, value_shape);
  std::vector<double> flags(values.size(), 0.0);
  if (reader.file().has_variable(flag_name)) flags = reader.required(flag_name, value_shape);
  const std::vector<double> window = reader.required("MetaData/window", {locations});
  const std::vector<double> time = reader.required("MetaData/time", {locations});
  std::vector<std::vector<double>> coordinates;
  for (const auto& d : grid) coordinates.push_back(reader.required("MetaData/" + d.name, {locations}));
  if (locations == 0) reader.fail(value_name, "holds no observation");

  // Frame k of a window is at k x frame_steps x time_step since its start.
  const double frame_time = static_cast<double>(places.frame_steps) * places.state.time_step;
  const double last = static_cast<double>(places.frames - 1) * frame_time;
  std::vector<std::int64_t> window_of(locations), frame_of(locations), point_of(locations);
  std::vector<std::vector<double>> cells(grid_rank, std::vector<double>(locations));
  bool on_grid = true;
  std::int64_t windows = 0;
  for (std::size_t l = 0; l < locations; ++l) {
    const double w = window[l];
    if (!(w >= 0 && w < static_cast<double>(places.windows) && w == std::floor(w)))
      reader.fail("MetaData/window", "location " + std::to_string(l) + " is in window " + number_text(w) +
                                         ", not one of the data's windows 0 to " + std::to_string(places.windows - 1));
    window_of[l] = static_cast<std::int64_t>(w);
    windows = std::max(windows, window_of[l] + 1);
    const double t = time[l];
    if (!(t >= -1e-9 * frame_time && t <= last + 1e-9 * frame_time))
      reader.fail("MetaData/time", "location " + std::to_string(l) + " at time " + number_text(t) +
                                       " is outside the window [0, " + number_text(last) + "] " +
                                       places.state.time_units);
    const auto frame = static_cast<std::int64_t>(std::llround(t / frame_time));
    if (std::abs(t - static_cast<double>(frame) * frame_time) > 1e-6 * frame_time)
      reader.fail("MetaData/time", "location " + std::to_string(l) + " at time " + number_text(t) +
                                       " is between frames (every " + number_text(frame_time) + " " +
                                       places.state.time_units +
                                       "): the samplers take observations at frame times only");
    frame_of[l] = frame;
    for (std::size_t d = 0; d < grid_rank; ++d) {
      cells[d][l] = grid_units(reader, "MetaData/" + grid[d].name, grid[d], coordinates[d][l], l);
      on_grid = on_grid && on_grid_point(cells[d][l]);
    }
  }

  // The points observed: the grid's, when every place is a grid point; else
  // the distinct places, in the order the file first names them.
  FileObservations out;
  std::int64_t points = 1;
  if (on_grid) {
    for (const auto& d : grid) points *= d.size;
    for (std::size_t l = 0; l < locations; ++l) {
      std::int64_t point = 0;
      for (std::size_t d = 0; d < grid_rank; ++d)
        point = point * grid[d].size +
                std::min(std::max<std::int64_t>(std::llround(cells[d][l]), 0), grid[d].size - 1);
      point_of[l] = point;
    }
  } else {
    std::map<std::vector<double>, std::int64_t> place_of;
    std::vector<double> places;
    for (std::size_t l = 0; l < locations; ++l) {
      std::vector<double> place;
      for (std::size_t d = 0; d < grid_rank; ++d) place.push_back(coordinates[d][l]);
      const auto [at, added] = place_of.emplace(place, static_cast<std::int64_t>(place_of.size()));
      if (added) places.insert(places.end(), place.begin(), place.end());
      point_of[l] = at->second;
    }
    points = static_cast<std::int64_t>(place_of.size());
    out.places = at::tensor(places, at::kDouble).view({points, static_cast<std::int64_t>(grid_rank)});
  }

  // (window, time, channel, point): the value, its error, and whether it is observed.
  const std::vector<std::int64_t> flat = {windows, places.frames, channels, points};
  at::Tensor y = at::zeros(flat, at::kDouble), sigma = at::zeros(flat, at::kDouble),
             seen = at::zeros(flat, at::kBool);
  auto y_at = y.accessor<double, 4>();
  auto sigma_at = sigma.accessor<double, 4>();
  auto seen_at = seen.accessor<bool, 4>();
  for (std::size_t l = 0; l < locations; ++l)
    for (std::int64_t c = 0; c < channels; ++c) {
      const std::size_t k = l * static_cast<std::size_t>(channels) + static_cast<std::size_t>(c);
      if (flags[k] != 0) {
        ++out.flagged;
        continue;
      }
      const std::string where = "location " + std::to_string(l) + (channel_shape.empty() ? "" : ", channel " + std::to_string(c));
      if (!std::isfinite(values[k])) reader.fail(value_name, where + " is " + number_text(values[k]) + " and not flagged by " + flag_name);
      if (!(errors[k] > 0 && std::isfinite(errors[k])))
        reader.fail(error_name, where + ": the error standard deviation " + number_text(errors[k]) +
                                    " is not a positive finite number");
      const std::int64_t w = window_of[l], t = frame_of[l], p = point_of[l];
      if (seen_at[w][t][c][p])
        reader.fail(value_name, where + " observes the same place and time as an earlier location (window " +
                                    std::to_string(w) + ", frame " + std::to_string(t) + ")");
      y_at[w][t][c][p] = values[k];
      sigma_at[w][t][c][p] = errors[k];
      seen_at[w][t][c][p] = true;
    }

  // A mask is over grid points: every channel of a place observed, or none.
  const at::Tensor points_seen = seen.select(2, 0);  // (window, time, point)
  for (std::int64_t c = 1; c < channels; ++c)
    if (!seen.select(2, c).equal(points_seen)) {
      const at::Tensor apart = seen.select(2, c).ne(points_seen).nonzero()[0];
      reader.fail(value_name, "window " + std::to_string(apart[0].item<std::int64_t>()) + ", frame " +
                                  std::to_string(apart[1].item<std::int64_t>()) + ": a place is observed in channel " +
                                  std::to_string(c) + " and not in channel 0 or the other way (flagged observations "
                                  "count as unobserved); a mask is over grid points, every channel or none");
    }
  if (points_seen.sum().item<std::int64_t>() == 0) reader.fail(flag_name, "flags every observation");

  std::vector<std::int64_t> shape = {windows, places.frames};
  shape.insert(shape.end(), channel_shape.begin(), channel_shape.end());
  std::vector<std::int64_t> mask_shape = {windows, places.frames};
  if (on_grid) {
    for (const auto& d : grid) mask_shape.push_back(d.size);
  } else {
    mask_shape.push_back(points);
  }
  shape.insert(shape.end(), mask_shape.begin() + 2, mask_shape.end());
  // (window, time, channel, point) -> (window, time, channels..., grid... or place)
  out.observations = y.reshape(shape);
  out.sigma = sigma.reshape(shape);
  const at::Tensor window_mask = points_seen.reshape(mask_shape).to(at::kInt);
  out.mask = window_mask.amax(0);
  if (!window_mask.eq(out.mask.unsqueeze(0)).all().item<bool>()) out.window_mask = window_mask;

  const std::string background_name = "Background/" + places.state.variable;
  if (reader.file().has_variable(background_name)) {
    const auto stored = reader.file().shape(background_name);
    const std::vector<std::int64_t> has(stored.begin(), stored.end()), state = places.state.shape();
    if (has.size() != state.size() + 1 || !std::equal(state.begin(), state.end(), has.begin() + 1) || has[0] < windows)
      reader.fail(background_name, "has shape " + shape_text(has) + ", not (window, state dims) with the " +
                                       std::to_string(windows) + " windows observed, of states " + shape_text(state));
    at::Tensor background = read_tensor(reader.file(), background_name).slice(0, 0, windows).contiguous();
    if (!at::isfinite(background).all().item<bool>()) reader.fail(background_name, "holds NaN or Inf values");
    out.background = background;
  }
  return out;
}

ObservationPlaces places_of(const Config& observe, const Config& generate) {
  ObservationPlaces places;
  places.state = generated_spec(generate);
  places.frame_steps =
      steps_in(generate.get<std::string>("sample_every"), places.state.time_step, places.state.time_units);
  places.frames = window_frames(observe, generate);
  // A forecast background starts from the frame before the window.
  const std::int64_t offset = observe.section("background").has("model") ? 1 : 0;
  places.windows = generate.get<std::int64_t>("trajectories") * generate.get<std::int64_t>("pieces") *
                   ((generate.get<std::int64_t>("frames") - offset) / places.frames);
  const std::vector<std::int64_t> state = places.state.shape();
  places.observed = observe.component<ObservationOperator>("operator")->output_shape(state);
  const std::size_t spatial = grid_rank(places.state);
  if (places.observed.size() < spatial ||
      !std::equal(places.observed.end() - static_cast<std::ptrdiff_t>(spatial), places.observed.end(),
                  state.end() - static_cast<std::ptrdiff_t>(spatial)))
    throw Error("its output " + shape_text(places.observed) + " does not keep the grid of the state " +
                shape_text(state));
  places.variable = observe.get<std::string>("variable");
  return places;
}

void write_observation_file(const std::filesystem::path& path, const ObservationSet& set, const std::string& variable) {
  const std::vector<Dimension> grid = grid_dims(set.state);
  const at::Tensor y = set.observations;  // (window, time, channels..., grid... or place)
  const std::int64_t windows = y.size(0), frames = y.size(1);
  std::int64_t points = set.places.defined() ? set.places.size(0) : 1;
  if (!set.places.defined())
    for (const auto& d : grid) points *= d.size;
  const std::int64_t channels = y[0][0].numel() / points;
  const bool with_channels = set.observation_dims.size() > set.point_dims().size();
  const at::Tensor values_tensor = y.to(at::kDouble).reshape({windows, frames, channels, points}).contiguous();
  const at::Tensor sigma_tensor =
      set.sigma.defined() ? set.sigma.to(at::kDouble).reshape({windows, frames, channels, points}).contiguous()
                          : at::full({windows, frames, channels, points}, set.design.sigma, at::kDouble);
  // (n, 3): window, frame, point of each observed place.
  const at::Tensor observed_tensor =
      (set.window_mask.defined() ? set.window_mask.reshape({windows, frames, points})
                                 : set.mask.reshape({1, frames, points}).expand({windows, frames, points}))
          .nonzero()
          .contiguous();
  const auto values = values_tensor.accessor<double, 4>();
  const auto sigma = sigma_tensor.accessor<double, 4>();
  const auto observed = observed_tensor.accessor<std::int64_t, 2>();
  const at::Tensor places_tensor = set.places.defined() ? set.places.to(at::kDouble).contiguous() : at::zeros({1, 1}, at::kDouble);
  const auto place_coordinates = places_tensor.accessor<double, 2>();
  const std::int64_t locations = observed_tensor.size(0);
  const double frame_time = static_cast<double>(set.frame_steps) * set.state.time_step;

  // Location k: the k-th observed (window, frame, point), in that order.
  std::vector<int> window(static_cast<std::size_t>(locations));
  std::vector<double> time(window.size()), value(window.size() * static_cast<std::size_t>(channels)),
      error(value.size());
  std::vector<std::vector<double>> coordinate(grid.size(), std::vector<double>(window.size()));
  for (std::int64_t i = 0; i < locations; ++i) {
    const auto k = static_cast<std::size_t>(i);
    const std::int64_t w = observed[i][0], t = observed[i][1], p = observed[i][2];
    window[k] = static_cast<int>(w);
    time[k] = static_cast<double>(t) * frame_time;
    std::int64_t rest = p;
    for (std::size_t d = grid.size(); d-- > 0;) {
      coordinate[d][k] = set.places.defined() ? place_coordinates[p][static_cast<std::int64_t>(d)]
                                              : (static_cast<double>(rest % grid[d].size) + 0.5) * grid[d].spacing;
      rest /= grid[d].size;
    }
    for (std::int64_t c = 0; c < channels; ++c) {
      value[k * static_cast<std::size_t>(channels) + static_cast<std::size_t>(c)] = values[w][t][c][p];
      error[k * static_cast<std::size_t>(channels) + static_cast<std::size_t>(c)] = sigma[w][t][c][p];
    }
  }

  auto file = netcdf::File::create(path);
  file.dimension("Location", static_cast<std::size_t>(locations));
  std::vector<std::string> value_dims = {"Location"};
  if (with_channels) {
    file.dimension("Channel", static_cast<std::size_t>(channels));
    value_dims.push_back("Channel");
  }
  file.variable("MetaData/window", "int", {"Location"});
  file.attribute("MetaData/window", "long_name", "assimilation window, from 0");
  file.variable("MetaData/time", "double", {"Location"});
  file.attribute("MetaData/time", "units", set.state.time_units);
  file.attribute("MetaData/time", "long_name", "time since the start of the window");
  for (const auto& d : grid) {
    file.variable("MetaData/" + d.name, "double", {"Location"});
    file.attribute("MetaData/" + d.name, "units", d.units);
    file.attribute("MetaData/" + d.name, "long_name", "coordinate along " + d.name);
  }
  file.variable("ObsValue/" + variable, "double", value_dims);
  file.variable("ObsError/" + variable, "double", value_dims);
  file.attribute("ObsError/" + variable, "long_name", "standard deviation of the observation error");
  file.variable("PreQC/" + variable, "int", value_dims);
  file.attribute("PreQC/" + variable, "long_name", "0: good; other values: flagged, not assimilated");
  const std::vector<std::string> state_dims = [&] {
    std::vector<std::string> names;
    for (const auto& d : set.state.dims) names.push_back(d.name);
    return names;
  }();
  const std::string background_name = "Background/" + set.state.variable;
  if (set.background.defined()) {
    file.dimension("window", static_cast<std::size_t>(windows));
    for (const auto& d : set.state.dims) file.dimension(d.name, static_cast<std::size_t>(d.size));
    std::vector<std::string> dims = {"window"};
    dims.insert(dims.end(), state_dims.begin(), state_dims.end());
    file.variable(background_name, "double", dims);
    file.attribute(background_name, "units", schema::stored_units(set.state, set.design.normalised));
    file.attribute(background_name, "long_name",
                   (set.background_doc.empty() ? "background of frame 0" : set.background_doc) +
                       schema::stored_doc(set.design.normalised));
  }
  file.attribute("", "observation_format", "IODA-like groups: see assim's framework/src/products/observation_file.hpp");
  file.end_definitions();
  const std::vector<std::size_t> start = {0}, count = {static_cast<std::size_t>(locations)};
  std::vector<std::size_t> value_count = count;
  if (with_channels) value_count.push_back(static_cast<std::size_t>(channels));
  const std::vector<std::size_t> value_start(value_count.size(), 0);
  file.write("MetaData/window", start, count, window.data());
  file.write("MetaData/time", start, count, time.data());
  for (std::size_t d = 0; d < grid.size(); ++d) file.write("MetaData/" + grid[d].name, start, count, coordinate[d].data());
  file.write("ObsValue/" + variable, value_start, value_count, value.data());
  file.write("ObsError/" + variable, value_start, value_count, error.data());
  const std::vector<int> good(value.size(), 0);
  file.write("PreQC/" + variable, value_start, value_count, good.data());
  if (set.background.defined()) write_tensor(file, background_name, set.background);
  file.close();
}

}  // namespace assim::products
