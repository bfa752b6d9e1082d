#include <assim/error.hpp>
#include <assim/framework/netcdf.hpp>

#include <H5Epublic.h>
#include <H5public.h>
#include <netcdf.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <numeric>

namespace assim::netcdf {

namespace {

// HDF5 closes the files still open at exit, in an atexit handler. A file
// whose close failed (a full disk) stays in its table, freed but not removed
// (HDF5 1.10), and closing it again at exit crashed the host after it had
// reported the error. Every File is closed by its owner, so the handler has
// nothing to do: it is turned off before HDF5 starts, at the first call.
void without_hdf5_exit_handler() {
  static const bool once = (H5dont_atexit(), true);
  (void)once;
}

// Debian's NetCDF is not thread-safe, and the runner runs stages side by side
// on workers (two observe stages writing at once aborted inside HDF5). Every
// call into the library holds one lock; it is recursive because one File
// method calls another (read calls shape). HDF5 keeps its error printing per
// thread and NetCDF turns it off only on the thread that opened the first
// file, so each other thread turns it off for itself: NetCDF's probes for
// optional attributes would print a page of diagnostics on a worker.
class Locked {
 public:
  Locked() : guard_(library()) {
    without_hdf5_exit_handler();  // before anything starts HDF5
    thread_local const bool quiet = (H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr), true);
    (void)quiet;
  }

 private:
  static std::recursive_mutex& library() {
    static std::recursive_mutex mutex;
    return mutex;
  }
  std::lock_guard<std::recursive_mutex> guard_;
};

}  // namespace

File::File(int id, std::filesystem::path path) : id_(id), path_(std::move(path)) {}

File::File(File&& other) noexcept : id_(other.id_), path_(std::move(other.path_)) { other.id_ = -1; }

// A file destroyed by an exception (a write that failed) is released too.
File::~File() {
  if (id_ >= 0) release();
}

int File::release() noexcept {
  const Locked lock;
  const int status = nc_close(id_);
  if (status != NC_NOERR) {
    // A file whose close failed (a full disk) is still open in the library,
    // and incomplete: nc_abort discards it, closing what can still be closed.
    // What HDF5 cannot close stays in its table, where nothing touches it
    // again (without_hdf5_exit_handler).
    const int why = errno;
    nc_abort(id_);
    errno = why;
  }
  id_ = -1;
  return status;
}

void File::check(int status, const std::string& what) const {
  if (status == NC_NOERR) {
    // What errno holds at the next failure is that failure's.
    errno = 0;
    return;
  }
  // HDF5 reports a full disk as "HDF error"; the system's reason is in errno.
  const bool disk = errno == ENOSPC || errno == EDQUOT || errno == EFBIG || errno == EIO || errno == EROFS;
  throw Error("NetCDF file " + path_.string() + ": " + what + ": " + nc_strerror(status) +
              (disk ? std::string(" (") + std::strerror(errno) + ")" : std::string()));
}

File File::create(const std::filesystem::path& path) {
  const Locked lock;
  int id = -1;
  int status = nc_create(path.c_str(), NC_NETCDF4 | NC_CLOBBER, &id);
  File file(-1, path);
  file.check(status, "cannot create");
  file.id_ = id;
  return file;
}

File File::open(const std::filesystem::path& path) {
  const Locked lock;
  int id = -1;
  int status = nc_open(path.c_str(), NC_NOWRITE, &id);
  File file(-1, path);
  file.check(status, "cannot open");
  file.id_ = id;
  return file;
}

void File::dimension(const std::string& name, std::size_t size) {
  const Locked lock;
  int dim = -1;
  check(nc_def_dim(id_, name.c_str(), size == 0 ? NC_UNLIMITED : size, &dim),
        "defining dimension " + name);
}

void File::variable(const std::string& name, const std::string& type,
                    const std::vector<std::string>& dimensions) {
  const Locked lock;
  nc_type nctype = type == "double" ? NC_DOUBLE : type == "float" ? NC_FLOAT : type == "string" ? NC_STRING : NC_INT;
  std::vector<int> dims;
  std::vector<std::size_t> chunks;
  for (const auto& d : dimensions) {
    int dim = -1;
    check(nc_inq_dimid(id_, d.c_str(), &dim), "variable " + name + ": no dimension " + d);
    dims.push_back(dim);
    int unlimited = -1;
    nc_inq_unlimdim(id_, &unlimited);
    std::size_t length = 0;
    nc_inq_dimlen(id_, dim, &length);
    chunks.push_back(dim == unlimited ? 1 : std::max<std::size_t>(length, 1));
  }
  int var = -1;
  std::string leaf;
  const int group = group_of(name, true, leaf);
  check(nc_def_var(group, leaf.c_str(), nctype, static_cast<int>(dims.size()), dims.data(), &var),
        "defining variable " + name);
  if (!dims.empty()) {
    // Chunks of one record along unlimited dims; leading fixed dims of more
    // than one record per chunk would make frame-by-frame writes rewrite chunks.
    for (std::size_t i = 0; i + 2 < chunks.size(); ++i) chunks[i] = 1;
    check(nc_def_var_chunking(group, var, NC_CHUNKED, chunks.data()), "chunking variable " + name);
  }
}

int File::group_of(const std::string& name, bool define, std::string& leaf) const {
  const Locked lock;
  int group = id_;
  std::size_t from = 0;
  for (std::size_t slash = name.find('/'); slash != std::string::npos; slash = name.find('/', from)) {
    const std::string part = name.substr(from, slash - from);
    int child = -1;
    if (nc_inq_ncid(group, part.c_str(), &child) != NC_NOERR) {
      if (!define) return -1;
      check(nc_def_grp(group, part.c_str(), &child), "defining group " + name.substr(0, slash));
    }
    group = child;
    from = slash + 1;
  }
  leaf = name.substr(from);
  return group;
}

File::Where File::where(const std::string& name) const {
  const Locked lock;
  if (name.empty()) return {id_, NC_GLOBAL};
  std::string leaf;
  const int group = group_of(name, false, leaf);
  if (group < 0) check(NC_ENOGRP, "no group of variable " + name);
  int var = -1;
  check(nc_inq_varid(group, leaf.c_str(), &var), "no variable " + name);
  return {group, var};
}

void File::attribute(const std::string& variable, const std::string& name, const std::string& text) {
  const Locked lock;
  const Where at = where(variable);
  check(nc_put_att_text(at.group, at.var, name.c_str(), text.size(), text.c_str()),
        "attribute " + variable + ":" + name);
}

void File::attribute(const std::string& variable, const std::string& name, double value) {
  const Locked lock;
  attribute(variable, name, std::vector<double>{value});
}

void File::attribute(const std::string& variable, const std::string& name,
                     const std::vector<double>& values) {
  const Locked lock;
  const Where at = where(variable);
  check(nc_put_att_double(at.group, at.var, name.c_str(), NC_DOUBLE, values.size(),
                          values.data()),
        "attribute " + variable + ":" + name);
}

void File::end_definitions() {
  const Locked lock;
  check(nc_enddef(id_), "ending definitions");
}

void File::write(const std::string& variable, const std::vector<std::size_t>& start,
                 const std::vector<std::size_t>& count, const double* values) {
  const Locked lock;
  const Where at = where(variable);
  check(nc_put_vara_double(at.group, at.var, start.data(), count.data(), values),
        "writing " + variable);
}

void File::write(const std::string& variable, const std::vector<std::size_t>& start,
                 const std::vector<std::size_t>& count, const float* values) {
  const Locked lock;
  const Where at = where(variable);
  check(nc_put_vara_float(at.group, at.var, start.data(), count.data(), values),
        "writing " + variable);
}

void File::write(const std::string& variable, const std::vector<std::size_t>& start,
                 const std::vector<std::size_t>& count, const int* values) {
  const Locked lock;
  const Where at = where(variable);
  check(nc_put_vara_int(at.group, at.var, start.data(), count.data(), values),
        "writing " + variable);
}

void File::write(const std::string& variable, const std::vector<std::string>& values) {
  const Locked lock;
  const Where at = where(variable);
  std::vector<const char*> pointers;
  for (const auto& v : values) pointers.push_back(v.c_str());
  std::size_t start = 0, count = values.size();
  check(nc_put_vara_string(at.group, at.var, &start, &count, pointers.data()), "writing " + variable);
}

std::vector<std::string> File::read_strings(const std::string& variable) const {
  const Locked lock;
  const Where at = where(variable);
  const std::size_t count = shape(variable).at(0), start = 0;
  std::vector<char*> pointers(count, nullptr);
  check(nc_get_vara_string(at.group, at.var, &start, &count, pointers.data()), "reading " + variable);
  std::vector<std::string> out(pointers.begin(), pointers.end());
  nc_free_string(count, pointers.data());
  return out;
}

void File::sync() {
  const Locked lock;
  check(nc_sync(id_), "syncing");
}

void File::close() {
  const Locked lock;
  if (id_ >= 0) check(release(), "closing");
}

bool File::has_variable(const std::string& name) const {
  const Locked lock;
  std::string leaf;
  const int group = group_of(name, false, leaf);
  int var = -1;
  return group >= 0 && nc_inq_varid(group, leaf.c_str(), &var) == NC_NOERR;
}

std::vector<int> File::dimension_ids(const std::string& variable) const {
  const Locked lock;
  const Where at = where(variable);
  int ndims = 0;
  check(nc_inq_varndims(at.group, at.var, &ndims), "variable " + variable);
  std::vector<int> dims(ndims);
  check(nc_inq_vardimid(at.group, at.var, dims.data()), "variable " + variable);
  return dims;
}

std::vector<std::string> File::dimensions_of(const std::string& variable) const {
  const Locked lock;
  std::vector<std::string> names;
  for (int d : dimension_ids(variable)) {
    char name[NC_MAX_NAME + 1];
    check(nc_inq_dimname(id_, d, name), "variable " + variable);
    names.emplace_back(name);
  }
  return names;
}

std::vector<std::size_t> File::shape(const std::string& variable) const {
  const Locked lock;
  std::vector<std::size_t> out;
  for (int d : dimension_ids(variable)) {
    std::size_t length = 0;
    check(nc_inq_dimlen(id_, d, &length), "variable " + variable);
    out.push_back(length);
  }
  return out;
}

std::vector<double> File::read(const std::string& variable, const std::vector<std::size_t>& start,
                               const std::vector<std::size_t>& count) const {
  const Locked lock;
  const Where at = where(variable);
  auto full = shape(variable);
  std::vector<std::size_t> s = start.empty() ? std::vector<std::size_t>(full.size(), 0) : start;
  std::vector<std::size_t> c = count.empty() ? full : count;
  std::size_t n = std::accumulate(c.begin(), c.end(), std::size_t{1}, std::multiplies<>());
  std::vector<double> values(n);
  check(nc_get_vara_double(at.group, at.var, s.data(), c.data(), values.data()),
        "reading " + variable);
  return values;
}

bool File::has_attribute(const std::string& variable, const std::string& name) const {
  const Locked lock;
  if (!variable.empty() && !has_variable(variable)) return false;
  const Where at = where(variable);
  std::size_t length = 0;
  return nc_inq_attlen(at.group, at.var, name.c_str(), &length) == NC_NOERR;
}

std::string File::text_attribute(const std::string& variable, const std::string& name) const {
  const Locked lock;
  const Where at = where(variable);
  std::size_t length = 0;
  check(nc_inq_attlen(at.group, at.var, name.c_str(), &length), "attribute " + variable + ":" + name);
  std::string text(length, '\0');
  check(nc_get_att_text(at.group, at.var, name.c_str(), text.data()), "attribute " + variable + ":" + name);
  return text;
}

std::vector<double> File::number_attribute(const std::string& variable,
                                           const std::string& name) const {
  const Locked lock;
  const Where at = where(variable);
  std::size_t length = 0;
  check(nc_inq_attlen(at.group, at.var, name.c_str(), &length), "attribute " + variable + ":" + name);
  std::vector<double> values(length);
  check(nc_get_att_double(at.group, at.var, name.c_str(), values.data()),
        "attribute " + variable + ":" + name);
  return values;
}

std::vector<std::string> File::numeric_variables() const {
  const Locked lock;
  int count = 0;
  check(nc_inq_nvars(id_, &count), "the variables");
  std::vector<std::string> out;
  for (int var = 0; var < count; ++var) {
    char name[NC_MAX_NAME + 1];
    nc_type type = NC_NAT;
    check(nc_inq_var(id_, var, name, &type, nullptr, nullptr, nullptr), "the variables");
    if (type != NC_STRING && type != NC_CHAR) out.emplace_back(name);
  }
  return out;
}

}  // namespace assim::netcdf
