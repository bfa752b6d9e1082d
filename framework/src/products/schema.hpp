// What the products' files share: how a state, its dims and their
// coordinates, a time axis and an index are defined, written and read back,
// and the attributes every product reads the same way (products/*.cpp).
#pragma once

#include <assim/framework/netcdf.hpp>
#include <assim/framework/stage.hpp>
#include <assim/model.hpp>

#include "products/products.hpp"

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace assim::products::schema {

// Whether `text` is all one number, and which.
bool is_number(const std::string& text, double& value);

// A text attribute, or `otherwise` where the file has none.
std::string text_or(const netcdf::File& file, const std::string& variable, const std::string& name,
                    const std::string& otherwise = "");

// A global number attribute; an error names the file when it is missing.
double number(const netcdf::File& file, const std::string& name);

// The stage's product, or an error that says which stage has none.
const std::filesystem::path& product_of(const StageInput& input);

// The names of the state's dims, in order.
std::vector<std::string> state_dim_names(const StateSpec& spec);

// `leading` followed by `rest`: a variable's dims.
std::vector<std::string> with(std::vector<std::string> leading, const std::vector<std::string>& rest);

// The state's dims and their coordinate variables (cell centres for grid
// dims, with their spacing; indices otherwise), and the spec's scalars.
void define_state(netcdf::File& file, const StateSpec& spec);

// An index coordinate 0..n-1 and the state's coordinates, written after the definitions.
void write_index(netcdf::File& file, const std::string& variable, std::int64_t n);
void write_state_coordinates(netcdf::File& file, const StateSpec& spec);

// The spec of `variable`, whose state dims start at `first`.
StateSpec read_state(const netcdf::File& file, const std::string& variable, std::size_t first);

// A time coordinate of `n` frames `steps` model steps apart.
void define_time(netcdf::File& file, std::int64_t n, const StateSpec& spec, const std::string& doc);

void write_time(netcdf::File& file, std::int64_t n, std::int64_t steps, const StateSpec& spec);
// An index dim of `n` with its coordinate variable.
void define_index(netcdf::File& file, const std::string& name, std::int64_t n, const std::string& doc);

// Units of stored states: the model's, or 1 for states divided by their std.
std::string stored_units(const StateSpec& spec, bool normalised);
// What a stored state's long name adds when it is divided by the scale.
std::string stored_doc(bool normalised);

// The state's channel dim, when its first dim is one.
std::vector<std::string> channel_dims(const StateSpec& spec);

// A whole integer variable.
std::vector<int> read_ints(const netcdf::File& file, const std::string& variable);

}  // namespace assim::products::schema
