#include "products/table.hpp"

#include "products/schema.hpp"
#include "products/tensor_io.hpp"

#include <assim/abi.hpp>
#include <assim/error.hpp>
#include <assim/shape.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>

namespace assim::products {

namespace {

// The size of each dim.
using Sizes = std::map<std::string, std::int64_t>;

// One lambda per alternative of a variant, for std::visit.
template <class... F>
struct Overloaded : F... {
  using F::operator()...;
};
template <class... F>
Overloaded(F...) -> Overloaded<F...>;

const void* address_of(const Field& field) {
  return std::visit([](auto* p) { return static_cast<const void*>(p); }, field);
}

bool holds_values(const Variable& v) {
  return std::visit(Overloaded{[](at::Tensor* t) { return t->defined(); }, [](double*) { return true; },
                               [](auto* values) { return !values->empty(); }},
                    v.field);
}

// The field's values as a tensor (not for texts).
at::Tensor tensor_of(const Variable& v) {
  return std::visit(
      Overloaded{[](at::Tensor* t) { return *t; },
                 [](std::vector<double>* values) { return at::tensor(at::ArrayRef<double>(*values), at::kDouble); },
                 [](std::vector<int>* values) { return at::tensor(at::ArrayRef<int>(*values), at::kInt); },
                 [](double* value) { return at::scalar_tensor(*value, at::kDouble); },
                 [&](std::vector<std::string>*) -> at::Tensor {
                   throw Error("internal: variable " + v.name + " holds texts");
                 }},
      v.field);
}

const char* type_name(Stored stored) {
  switch (stored) {
    case Stored::single: return "float";
    case Stored::integer: return "int";
    case Stored::text: return "string";
    case Stored::real: break;
  }
  return "double";
}

// Whether the entry is defined in the file: an optional variable when it
// holds values, an optional dim when such a variable spans it.
bool defined(const Table& table, const Entry& entry) {
  if (const auto* v = std::get_if<Variable>(&entry)) return !v->optional || holds_values(*v);
  const auto* d = std::get_if<Dim>(&entry);
  if (!d || !d->optional) return true;
  for (const Entry& other : table.entries)
    if (const auto* v = std::get_if<Variable>(&other); v && defined(table, other))
      if (std::find(v->dims.begin(), v->dims.end(), d->name) != v->dims.end()) return true;
  return false;
}

std::int64_t size_of(const Sizes& sizes, const std::string& dim) {
  const auto it = sizes.find(dim);
  if (it == sizes.end()) throw Error("internal: no variable written gives dim " + dim + " a size");
  return it->second;
}

bool holds_value(const Attribute& a) {
  if (const auto* text = std::get_if<std::string*>(&a.field)) return !(*text)->empty();
  if (const auto* number = std::get_if<double*>(&a.field)) return !std::isnan(**number);
  return true;
}

void define_attributes(netcdf::File& file, const Table& table) {
  file.attribute("", "Conventions", "CF-1.8");
  if (!table.title.empty()) file.attribute("", "title", table.title);
  file.attribute("", "source", "assim " ASSIM_SDK_VERSION " " + table.stage + " stage");
  for (const Attribute& a : table.attributes) {
    if (a.kind == Attribute::Kind::setting || (a.kind == Attribute::Kind::optional && !holds_value(a))) continue;
    std::visit(Overloaded{[&](std::string* text) { file.attribute("", a.name, *text); },
                          [&](bool* flag) { file.attribute("", a.name, *flag ? "true" : "false"); },
                          [&](auto* number) { file.attribute("", a.name, static_cast<double>(*number)); }},
               a.field);
  }
  if (table.settings) table.settings->write(file);
}

const Variable& variable_of(const Table& table, const void* field) {
  for (const Entry& e : table.entries)
    if (const auto* v = std::get_if<Variable>(&e); v && address_of(v->field) == field) return *v;
  throw Error("internal: the table of the " + table.stage + " stage's product binds no such field");
}

void write_whole(netcdf::File& file, const Variable& v) {
  if (auto* texts = std::get_if<std::vector<std::string>*>(&v.field)) {
    file.write(v.name, **texts);
    return;
  }
  const auto shape = file.shape(v.name);
  const at::Tensor values = tensor_of(v);
  const auto count = std::accumulate(shape.begin(), shape.end(), std::int64_t{1},
                                     [](std::int64_t n, std::size_t d) { return n * static_cast<std::int64_t>(d); });
  // Values of another rank than the variable's (one factor for a state
  // without channels) are written in its shape when there are as many.
  if (values.numel() != count)
    throw Error("internal: variable " + v.name + " of shape " + shape_text(values.sizes()) + " in a file where it holds " +
                std::to_string(count) + " values");
  const at::Tensor shaped = values.reshape(std::vector<std::int64_t>(shape.begin(), shape.end()));
  if (v.stored == Stored::single)
    write_tensor<float>(file, v.name, shaped);
  else if (v.stored == Stored::integer)
    write_tensor<int>(file, v.name, shaped);
  else
    write_tensor(file, v.name, shaped);
}

void read_attribute(const netcdf::File& file, const Attribute& a) {
  if (!file.has_attribute("", a.name)) {
    if (a.kind == Attribute::Kind::required) schema::number(file, a.name);  // the error that names the file
    return;
  }
  std::visit(Overloaded{[&](std::string* text) { *text = file.text_attribute("", a.name); },
                        [&](bool* flag) { *flag = file.text_attribute("", a.name) == "true"; },
                        [&](auto* number) {
                          *number = static_cast<std::remove_reference_t<decltype(*number)>>(
                              file.number_attribute("", a.name)[0]);
                        }},
             a.field);
}

std::string dims_text(const std::vector<std::string>& dims) {
  std::string out;
  for (const auto& d : dims) out += (out.empty() ? "" : ", ") + d;
  return "(" + out + ")";
}

// One variable, checked against its declaration, at `at`, into its field.
void read_variable(const netcdf::File& file, const Variable& v, const Selection& at) {
  const std::string where = file.path().string() + ": variable '" + v.name + "'";
  if (!file.has_variable(v.name)) {
    if (v.optional) return;
    throw Error(where + " is missing; the file was not written by this version of assim (rerun the stage that made "
                "it, with --force)");
  }
  if (file.dimensions_of(v.name) != v.dims)
    throw Error(where + " spans " + dims_text(file.dimensions_of(v.name)) + ", where this version of assim expects " +
                dims_text(v.dims) + " (rerun the stage that made it, with --force)");
  if (auto* texts = std::get_if<std::vector<std::string>*>(&v.field)) {
    **texts = file.read_strings(v.name);
    return;
  }
  std::vector<std::size_t> start(v.dims.size(), 0), count = file.shape(v.name);
  std::vector<std::int64_t> shape;
  for (std::size_t d = 0; d < v.dims.size(); ++d) {
    const auto chosen = at.find(v.dims[d]);
    if (chosen == at.end()) {
      shape.push_back(static_cast<std::int64_t>(count[d]));
      continue;
    }
    if (chosen->second < 0 || static_cast<std::size_t>(chosen->second) >= count[d])
      throw Error(where + " has no " + v.dims[d] + " " + std::to_string(chosen->second) + " (it has " +
                  std::to_string(count[d]) + ")");
    start[d] = static_cast<std::size_t>(chosen->second);
    count[d] = 1;
  }
  std::vector<double> values = file.read(v.name, start, count);
  std::visit(Overloaded{[&](at::Tensor* t) { *t = at::from_blob(values.data(), shape, at::kDouble).clone(); },
                        [&](std::vector<double>* out) { *out = std::move(values); },
                        [&](std::vector<int>* out) { out->assign(values.begin(), values.end()); },
                        [&](double* out) { *out = values.at(0); },
                        [](std::vector<std::string>*) {}},
             v.field);
}

// The sizes the values of the table's variables and its state give each dim;
// an error names a variable whose values disagree with another's.
Sizes sizes_of(const Table& table) {
  Sizes sizes;
  for (const auto& d : table.state.dims) sizes[d.name] = d.size;
  for (const Entry& e : table.entries) {
    const auto* v = std::get_if<Variable>(&e);
    if (!v || !holds_values(*v) || std::holds_alternative<std::vector<std::string>*>(v->field)) continue;
    const at::Tensor values = tensor_of(*v);
    if (static_cast<std::size_t>(values.dim()) != v->dims.size()) continue;  // shaped by the others (write_whole)
    for (std::size_t d = 0; d < v->dims.size(); ++d) {
      const auto [it, fresh] = sizes.emplace(v->dims[d], values.size(static_cast<std::int64_t>(d)));
      if (!fresh && it->second != values.size(static_cast<std::int64_t>(d)))
        throw Error("internal: variable " + v->name + " spans " + v->dims[d] + " with " +
                    std::to_string(values.size(static_cast<std::int64_t>(d))) + " where others have " +
                    std::to_string(it->second));
    }
  }
  for (const Entry& e : table.entries)
    if (const auto* v = std::get_if<Variable>(&e); v && holds_values(*v))
      if (auto* texts = std::get_if<std::vector<std::string>*>(&v->field))
        sizes.emplace(v->dims.at(0), static_cast<std::int64_t>((*texts)->size()));
  return sizes;
}

// Defines the whole file (dims and coordinates, the variables, the global
// attributes), ends the definitions and writes the coordinates.
void define(netcdf::File& file, const Table& table, const Sizes& sizes) {
  for (const Entry& e : table.entries) {
    if (!defined(table, e)) continue;
    std::visit(Overloaded{[&](const Dim& d) {
                            const std::int64_t n = size_of(sizes, d.name);
                            if (d.coordinate == Dim::Coordinate::index)
                              schema::define_index(file, d.name, n, d.long_name);
                            else if (d.coordinate == Dim::Coordinate::time)
                              schema::define_time(file, n, table.state, d.long_name);
                            else
                              file.dimension(d.name, static_cast<std::size_t>(n));
                          },
                          [&](const StateDims&) { schema::define_state(file, table.state); },
                          [&](const Variable& v) {
                            file.variable(v.name, type_name(v.stored), v.dims);
                            if (!v.units.empty()) file.attribute(v.name, "units", v.units);
                            if (!v.long_name.empty()) file.attribute(v.name, "long_name", v.long_name);
                          }},
               e);
  }
  define_attributes(file, table);
  file.end_definitions();
  for (const Entry& e : table.entries) {
    if (!defined(table, e)) continue;
    if (const auto* d = std::get_if<Dim>(&e)) {
      if (d->coordinate == Dim::Coordinate::index) schema::write_index(file, d->name, size_of(sizes, d->name));
      if (d->coordinate == Dim::Coordinate::time)
        schema::write_time(file, size_of(sizes, d->name), table.frame_steps, table.state);
    } else if (std::holds_alternative<StateDims>(e)) {
      schema::write_state_coordinates(file, table.state);
    }
  }
}

// Writes every variable whose field holds values, whole.
void write_values(netcdf::File& file, const Table& table) {
  for (const Entry& e : table.entries)
    if (const auto* v = std::get_if<Variable>(&e); v && holds_values(*v)) write_whole(file, *v);
}

}  // namespace

void write(const std::filesystem::path& path, const Table& table) {
  auto file = netcdf::File::create(path);
  define(file, table, sizes_of(table));
  write_values(file, table);
  file.close();
}

netcdf::File create(const std::filesystem::path& path, const Table& table, const Sizes& sizes) {
  auto file = netcdf::File::create(path);
  Sizes all = sizes;
  for (const auto& d : table.state.dims) all.emplace(d.name, d.size);
  define(file, table, all);
  return file;
}

void write_part(netcdf::File& file, const Table& table, const void* field, const std::vector<std::size_t>& start,
                const at::Tensor& values) {
  const Variable& v = variable_of(table, field);
  std::vector<std::size_t> count(start.size() - static_cast<std::size_t>(values.dim()), 1);
  for (auto n : values.sizes()) count.push_back(static_cast<std::size_t>(n));
  if (v.stored == Stored::integer) {
    const at::Tensor t = values.to(at::kInt).contiguous();
    file.write(v.name, start, count, t.data_ptr<int>());
  } else if (v.stored == Stored::single) {
    const at::Tensor t = values.to(at::kFloat).contiguous();
    file.write(v.name, start, count, t.data_ptr<float>());
  } else {
    const at::Tensor t = values.to(at::kDouble).contiguous();
    file.write(v.name, start, count, t.data_ptr<double>());
  }
}

std::string units_of(const netcdf::File& file, const Table& table, const void* field) {
  const Variable& v = variable_of(table, field);
  return schema::text_or(file, v.name, "units");
}

StateSpec state_of(const netcdf::File& file, const Table& table, const void* field) {
  const Variable& v = variable_of(table, field);
  return schema::read_state(file, v.name, v.dims.size());
}

std::vector<std::string> trailing_dims(const netcdf::File& file, const Table& table, const void* field) {
  const Variable& v = variable_of(table, field);
  const auto dims = file.dimensions_of(v.name);
  return std::vector<std::string>(dims.begin() + static_cast<std::ptrdiff_t>(std::min(v.dims.size(), dims.size())),
                                  dims.end());
}

void read(const netcdf::File& file, const Table& table, const std::vector<const void*>& fields, const Selection& at) {
  read_attributes(file, table);
  if (fields.empty()) {
    for (const Entry& e : table.entries)
      if (const auto* v = std::get_if<Variable>(&e)) read_variable(file, *v, at);
    return;
  }
  for (const void* field : fields) read_variable(file, variable_of(table, field), at);
}

void read_attributes(const netcdf::File& file, const Table& table) {
  for (const Attribute& a : table.attributes) read_attribute(file, a);
}

}  // namespace assim::products
