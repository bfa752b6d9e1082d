#include "provenance.hpp"

#include <map>

namespace assim::provenance {

namespace fs = std::filesystem;

YAML::Node digest_outputs(const fs::path& folder, const std::string& record_file) {
  std::map<std::string, std::string> sorted;
  for (const auto& entry : fs::recursive_directory_iterator(folder)) {
    if (!entry.is_regular_file()) continue;
    std::string relative = fs::relative(entry.path(), folder).generic_string();
    if (relative == record_file) continue;
    sorted[relative] = assim::file_digest(entry.path());
  }
  YAML::Node out(YAML::NodeType::Map);
  for (const auto& [name, digest] : sorted) out[name] = digest;
  return out;
}

std::string damage(const fs::path& folder, const YAML::Node& recorded) {
  if (!recorded.IsMap()) return "the record lists no output files";
  for (const auto& entry : recorded) {
    std::string name = entry.first.Scalar();
    std::string now = assim::file_digest(folder / name);
    if (now != entry.second.Scalar())
      return name + (now == "missing" ? " is missing" : " differs from the record (" + now + ", recorded " +
                                                            entry.second.Scalar() + ")");
  }
  return "";
}

}  // namespace assim::provenance
