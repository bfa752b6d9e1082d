#include "paths.hpp"

namespace assim::report {

std::string shown_path(const std::filesystem::path& path, const std::filesystem::path& run_folder) {
  const std::filesystem::path inside = path.lexically_normal().lexically_relative(run_folder.lexically_normal());
  if (!inside.empty() && *inside.begin() != "..") return inside.generic_string();
  return path.filename().string();
}

std::string without_machine_paths(const std::string& record, const std::filesystem::path& run_folder) {
  // A record is YAML written by the runner: an absolute path is a value that
  // starts with '/' after a space (or at a line's start) and runs to the next
  // space, comma or bracket; a '/' inside a word ("m/s") is no path.
  std::string out;
  std::size_t i = 0;
  while (i < record.size()) {
    const bool starts = record[i] == '/' && (i == 0 || record[i - 1] == ' ' || record[i - 1] == '\n');
    if (!starts) {
      out += record[i++];
      continue;
    }
    const std::size_t end = record.find_first_of(" \n,]}", i);
    const std::size_t stop = end == std::string::npos ? record.size() : end;
    out += shown_path(record.substr(i, stop - i), run_folder);
    i = stop;
  }
  return out;
}

}  // namespace assim::report
