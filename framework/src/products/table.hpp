// A product's file declared once, as a table: its dims and their coordinate
// variables, its variables (name, dims, units, long name, the field of the
// product each holds) and its global attributes, in the order the file lists
// them. One writer and one reader go through every table, so a product names
// each of its variables in one place; the reader checks what it reads against
// the declaration and names the file and the variable when they disagree.
//
// A table is made for one product value (each product's `*_table(product)`):
// its entries point at that value's fields, which the writer reads and the
// reader fills.
#pragma once

#include <assim/framework/netcdf.hpp>
#include <assim/model.hpp>

#include "products/products.hpp"

#include <ATen/ATen.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <variant>
#include <vector>

namespace assim::products {

// The field of the product a variable's values live in.
using Field = std::variant<at::Tensor*, std::vector<double>*, std::vector<int>*, std::vector<std::string>*, double*>;

// How a variable's values are stored in the file.
enum class Stored { real, single, integer, text };  // double, float, int, string

struct Variable {
  std::string name;
  std::vector<std::string> dims;
  std::string units, long_name;  // empty: the variable has no such attribute
  Field field;
  Stored stored = Stored::real;
  // Written when its field holds values (a defined tensor, a non-empty
  // vector), read only where the file has it.
  bool optional = false;
};

// A dim and the coordinate variable it has, if any: an index 0..n-1, or the
// time of each frame, `frame_steps` model steps apart.
struct Dim {
  enum class Coordinate { none, index, time };
  std::string name;
  Coordinate coordinate = Coordinate::none;
  std::string long_name;  // of the coordinate
  bool optional = false;  // defined only when a variable written spans it
};

// The state's dims with their coordinates, and its spec as global attributes
// (schema::define_state).
struct StateDims {};

using Entry = std::variant<Dim, StateDims, Variable>;

// A global attribute and the field of the product it holds: a number (also
// whole numbers) or text (a flag as "true" / "false").
struct Attribute {
  // required: always written, and its absence is an error naming the file;
  // optional: written when it holds a value (not NaN, not empty), and where
  // the file lacks it the field keeps its value; setting: written with the
  // stage's settings (Table::settings), read back like an optional one.
  enum class Kind { required, optional, setting };
  std::string name;
  std::variant<std::string*, double*, std::int64_t*, std::uint64_t*, bool*> field;
  Kind kind = Kind::required;
};

struct Table {
  std::string stage;  // the stage that writes it, in the file's `source`
  std::string title;  // empty: none
  StateSpec state;    // of StateDims; its time units are the time coordinate's
  std::int64_t frame_steps = 1;
  std::vector<Entry> entries;  // in the file's order
  std::vector<Attribute> attributes;
  const Attributes* settings = nullptr;  // written after the attributes
};

// A new file at `path` holding the table.
void write(const std::filesystem::path& path, const Table& table);

// A product written in parts (the dataset, frame by frame): a new file at
// `path` with every entry of the table defined, each dim sized by `sizes` or
// the state, and the coordinates written; write_part then fills the
// variables, and the caller closes the file.
netcdf::File create(const std::filesystem::path& path, const Table& table, const std::map<std::string, std::int64_t>& sizes);
// `values` into the variable bound to `field`, from `start` (one index per
// dim of the variable; the values' shape, padded with leading ones, is the count).
void write_part(netcdf::File& file, const Table& table, const void* field, const std::vector<std::size_t>& start,
                const at::Tensor& values);

// The units attribute of the variable bound to `field`, as the file has it
// (a reader's spec comes back out of the file).
std::string units_of(const netcdf::File& file, const Table& table, const void* field);

// What a reader learns from the file before it can make the table: for the
// variable bound to `field` in a table made without them, the spec of the
// state dims that follow the dims declared (schema::read_state) and the
// names of those dims.
StateSpec state_of(const netcdf::File& file, const Table& table, const void* field);
std::vector<std::string> trailing_dims(const netcdf::File& file, const Table& table, const void* field);

// Indices of some dims to read at, each such dim then left out: {{"window", 2}}.
using Selection = std::map<std::string, std::int64_t>;

// The table's attributes, and the variables bound to `fields` (every
// variable when empty), at `at`, into their fields: tensors as float64.
void read(const netcdf::File& file, const Table& table, const std::vector<const void*>& fields = {},
          const Selection& at = {});
// The table's attributes alone.
void read_attributes(const netcdf::File& file, const Table& table);

}  // namespace assim::products
