#include "provenance.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <map>
#include <regex>

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

namespace {

void quote(const std::string& text, std::string& out) {
  out += '"';
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
}

// A scalar written as a decimal number ("0.5", "5e-1", "2", "2.0") by its
// value, so that two spellings of one number are one setting; any other
// scalar as written.
std::string scalar_text(const std::string& text) {
  static const std::regex decimal(R"([-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?)");
  if (!std::regex_match(text, decimal)) return text;
  const double value = std::strtod(text.c_str(), nullptr);
  if (!std::isfinite(value)) return text;
  char buffer[40];
  if (value == std::nearbyint(value) && std::fabs(value) < 9007199254740992.0)
    std::snprintf(buffer, sizeof buffer, "%.0f", value == 0 ? 0.0 : value);
  else
    std::snprintf(buffer, sizeof buffer, "%.17g", value);
  return buffer;
}

void canonical(const YAML::Node& node, std::string& out) {
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      std::map<std::string, YAML::Node> sorted;
      for (const auto& kv : node) sorted.emplace(kv.first.Scalar(), kv.second);
      out += '{';
      bool first = true;
      for (const auto& [key, value] : sorted) {
        if (!first) out += ',';
        first = false;
        quote(key, out);
        out += ':';
        canonical(value, out);
      }
      out += '}';
      break;
    }
    case YAML::NodeType::Sequence:
      out += '[';
      for (std::size_t i = 0; i < node.size(); ++i) {
        if (i) out += ',';
        canonical(node[i], out);
      }
      out += ']';
      break;
    case YAML::NodeType::Scalar:
      quote(scalar_text(node.Scalar()), out);
      break;
    default:
      out += '~';
  }
}

}  // namespace

std::string canonical(const YAML::Node& node) {
  std::string out;
  canonical(node, out);
  return out;
}

std::string emit(const YAML::Node& node) {
  YAML::Emitter out;
  out << node;
  return out.c_str();
}

std::string now_text() {
  std::time_t t = std::time(nullptr);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buffer;
}

}  // namespace assim::provenance
