// A small C++ face on the NetCDF-4 C library: what the stages need to write
// self-describing results (named dimensions, units, attributes) and read
// them back. Errors name the file and the variable. A variable's name may
// hold its group ("ObsValue/y"); dimensions are the root's.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

namespace assim::netcdf {

class File {
 public:
  // A new NetCDF-4 file (replaces an existing one).
  static File create(const std::filesystem::path& path);
  static File open(const std::filesystem::path& path);
  File(File&& other) noexcept;
  File& operator=(File&&) = delete;
  ~File();

  // Defining (after create, before end_definitions). Size 0 is unlimited.
  void dimension(const std::string& name, std::size_t size);
  // `type` is "double", "float", "int" or "string" (one-dimensional). Chunks of one record along the
  // first dimension when it is unlimited.
  void variable(const std::string& name, const std::string& type,
                const std::vector<std::string>& dimensions);
  void attribute(const std::string& variable, const std::string& name, const std::string& text);
  void attribute(const std::string& variable, const std::string& name, double value);
  void attribute(const std::string& variable, const std::string& name,
                 const std::vector<double>& values);
  void end_definitions();

  void write(const std::string& variable, const std::vector<std::size_t>& start,
             const std::vector<std::size_t>& count, const double* values);
  void write(const std::string& variable, const std::vector<std::size_t>& start,
             const std::vector<std::size_t>& count, const float* values);
  void write(const std::string& variable, const std::vector<std::size_t>& start,
             const std::vector<std::size_t>& count, const int* values);
  // All of a one-dimensional string variable.
  void write(const std::string& variable, const std::vector<std::string>& values);
  void sync();
  // Writes what is buffered and lets go of the file, also when that fails:
  // the Error names the file and the reason (a full disk included).
  void close();

  // Reading. An empty start/count reads the whole variable.
  bool has_variable(const std::string& name) const;
  std::vector<std::string> dimensions_of(const std::string& variable) const;
  std::vector<std::size_t> shape(const std::string& variable) const;
  std::vector<double> read(const std::string& variable, const std::vector<std::size_t>& start = {},
                           const std::vector<std::size_t>& count = {}) const;
  std::vector<std::string> read_strings(const std::string& variable) const;
  // The names of the variables that hold numbers, in the file's order.
  std::vector<std::string> numeric_variables() const;
  bool has_attribute(const std::string& variable, const std::string& name) const;
  std::string text_attribute(const std::string& variable, const std::string& name) const;
  std::vector<double> number_attribute(const std::string& variable, const std::string& name) const;

  const std::filesystem::path& path() const { return path_; }

 private:
  File(int id, std::filesystem::path path);
  // nc_close, or nc_abort where that fails; returns nc_close's status.
  int release() noexcept;
  // A variable's group and id. A name "Group/name" is variable `name` of
  // group `Group` (IODA's layout: ObsValue/y); a name without '/' is at the root.
  struct Where {
    int group, var;
  };
  Where where(const std::string& name) const;
  // The group of a variable's name and its last part (`leaf`); groups missing
  // are defined when `define`, otherwise -1.
  int group_of(const std::string& name, bool define, std::string& leaf) const;
  std::vector<int> dimension_ids(const std::string& variable) const;
  void check(int status, const std::string& what) const;
  int id_ = -1;
  std::filesystem::path path_;
};

}  // namespace assim::netcdf
