#include "products/schema.hpp"

#include <assim/error.hpp>

namespace assim::products::schema {

bool is_number(const std::string& text, double& value) {
  try {
    std::size_t used = 0;
    value = std::stod(text, &used);
    return used == text.size();
  } catch (const std::exception&) {
    return false;
  }
}

std::string text_or(const netcdf::File& file, const std::string& variable, const std::string& name,
                    const std::string& otherwise) {
  return file.has_attribute(variable, name) ? file.text_attribute(variable, name) : otherwise;
}

double number(const netcdf::File& file, const std::string& name) {
  if (!file.has_attribute("", name))
    throw Error(file.path().string() + ": attribute '" + name + "' is missing; the file was not written by this "
                "version of assim (rerun the stage that made it, with --force)");
  return file.number_attribute("", name)[0];
}

// The stage's product, or an error that says which stage has none.
const std::filesystem::path& product_of(const StageInput& input) {
  if (input.product.empty()) throw Error("internal: stage '" + input.name + "' declares no output file");
  if (!std::filesystem::exists(input.product))
    throw Error("stage '" + input.name + "': its result " + input.product.string() +
                " is missing; rerun it (--force --only " + input.name + ")");
  return input.product;
}

std::vector<std::string> state_dim_names(const StateSpec& spec) {
  std::vector<std::string> out;
  for (const auto& d : spec.dims) out.push_back(d.name);
  return out;
}

std::vector<std::string> with(std::vector<std::string> leading, const std::vector<std::string>& rest) {
  leading.insert(leading.end(), rest.begin(), rest.end());
  return leading;
}

// The state's dims and their coordinate variables (cell centres for grid
// dims, with their spacing; indices otherwise), and the spec's scalars.
void define_state(netcdf::File& file, const StateSpec& spec) {
  for (const auto& d : spec.dims) {
    file.dimension(d.name, static_cast<std::size_t>(d.size));
    if (d.spacing > 0) {
      file.variable(d.name, "double", {d.name});
      file.attribute(d.name, "units", d.units);
      file.attribute(d.name, "spacing", d.spacing);
      file.attribute(d.name, "long_name", "cell-centre coordinate");
    } else {
      file.variable(d.name, "int", {d.name});
      file.attribute(d.name, "long_name", d.name + " index");
    }
  }
  file.attribute("", "state_variable", spec.variable);
  file.attribute("", "state_long_name", spec.long_name);
  file.attribute("", "state_units", spec.units);
  file.attribute("", "time_step", spec.time_step);
  file.attribute("", "time_units", spec.time_units);
}

void write_index(netcdf::File& file, const std::string& variable, std::int64_t n) {
  std::vector<int> index(static_cast<std::size_t>(n));
  std::iota(index.begin(), index.end(), 0);
  file.write(variable, {0}, {static_cast<std::size_t>(n)}, index.data());
}

void write_state_coordinates(netcdf::File& file, const StateSpec& spec) {
  for (const auto& d : spec.dims) {
    if (d.spacing > 0) {
      std::vector<double> centres(static_cast<std::size_t>(d.size));
      for (std::int64_t i = 0; i < d.size; ++i) centres[static_cast<std::size_t>(i)] = (i + 0.5) * d.spacing;
      file.write(d.name, {0}, {static_cast<std::size_t>(d.size)}, centres.data());
    } else {
      write_index(file, d.name, d.size);
    }
  }
}

// The spec of `variable`, whose state dims start at `first`.
StateSpec read_state(const netcdf::File& file, const std::string& variable, std::size_t first) {
  StateSpec spec;
  spec.variable = file.text_attribute("", "state_variable");
  spec.long_name = text_or(file, "", "state_long_name");
  spec.units = text_or(file, "", "state_units");
  spec.time_step = number(file, "time_step");
  spec.time_units = text_or(file, "", "time_units");
  const auto names = file.dimensions_of(variable);
  const auto shape = file.shape(variable);
  for (std::size_t d = first; d < names.size(); ++d) {
    Dimension dim{names[d], static_cast<std::int64_t>(shape[d]), "", 0.0};
    if (file.has_variable(names[d]) && file.has_attribute(names[d], "spacing")) {
      dim.spacing = file.number_attribute(names[d], "spacing")[0];
      dim.units = text_or(file, names[d], "units");
    }
    spec.dims.push_back(dim);
  }
  return spec;
}

// A time coordinate of `n` frames `steps` model steps apart.
void define_time(netcdf::File& file, std::int64_t n, const StateSpec& spec, const std::string& doc) {
  file.dimension("time", static_cast<std::size_t>(n));
  file.variable("time", "double", {"time"});
  file.attribute("time", "units", spec.time_units);
  file.attribute("time", "long_name", doc);
}

void write_time(netcdf::File& file, std::int64_t n, std::int64_t steps, const StateSpec& spec) {
  std::vector<double> times(static_cast<std::size_t>(n));
  for (std::int64_t f = 0; f < n; ++f) times[static_cast<std::size_t>(f)] = static_cast<double>(f * steps) * spec.time_step;
  file.write("time", {0}, {static_cast<std::size_t>(n)}, times.data());
}

void define_index(netcdf::File& file, const std::string& name, std::int64_t n, const std::string& doc) {
  file.dimension(name, static_cast<std::size_t>(n));
  file.variable(name, "int", {name});
  file.attribute(name, "long_name", doc);
}

// Units of stored states: the model's, or 1 for states divided by their std.
std::string stored_units(const StateSpec& spec, bool normalised) { return normalised ? "1" : spec.units; }
std::string stored_doc(bool normalised) { return normalised ? " (divided by the per-channel scale)" : ""; }

std::vector<std::string> channel_dims(const StateSpec& spec) {
  return has_channel_dim(spec) ? std::vector<std::string>{spec.dims[0].name} : std::vector<std::string>{};
}

std::vector<int> read_ints(const netcdf::File& file, const std::string& variable) {
  std::vector<int> out;
  for (double v : file.read(variable)) out.push_back(static_cast<int>(v));
  return out;
}

}  // namespace assim::products::schema
