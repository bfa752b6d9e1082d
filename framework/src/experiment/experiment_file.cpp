#include "experiment_file.hpp"

#include "config_impl.hpp"

#include <assim/error.hpp>

#include <algorithm>
#include <cctype>
#include <functional>
#include <sstream>
#include <vector>

namespace assim {

bool is_plain_name(const std::string& name) {
  if (name.empty() || name.size() > 128) return false;
  if (!(std::isalpha(static_cast<unsigned char>(name[0])) || name[0] == '_')) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
}

const char* const plain_name_rule = "letters, digits, '_' and '-', starting with a letter or '_', at most 128 characters";

void apply_override(YAML::Node root, const std::string& text, ConfigOrigin& origin) {
  auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0)
    throw Error("--set " + text + ": expected path.to.key=value");
  std::string path = text.substr(0, eq);
  if (!is_utf8(text)) throw Error("--set " + path + "=...: the value is not UTF-8 text (YAML reads only UTF-8)");
  YAML::Node value;
  try {
    value = YAML::Load(text.substr(eq + 1));
  } catch (const YAML::Exception& e) {
    throw Error("--set " + text + ": the value is not valid YAML: " + e.msg);
  }
  std::vector<std::string> parts;
  std::stringstream stream(path);
  for (std::string part; std::getline(stream, part, '.');) parts.push_back(part);
  // Sweeps are expanded before the overrides apply: an override sets one
  // expanded stage, and neither the sweeps nor a template exist any more.
  if (parts[0] == "sweeps")
    throw Error("--set " + text + ": the sweeps are expanded before --set applies; set a stage they make "
                "(stages.NAME.key, `assim validate FILE --print` lists them) or edit sweeps: in the file");
  if (parts[0] == "stages" && parts.size() > 1 && parts[1].find('<') != std::string::npos)
    throw Error("--set " + text + ": '" + parts[1] + "' is a stage template, and sweeps are expanded before --set "
                "applies; set a stage it makes (`assim validate FILE --print` lists them)");
  std::function<void(YAML::Node, std::size_t)> descend = [&](YAML::Node node, std::size_t i) {
    if (!node.IsMap() && !node.IsNull())
      throw Error("--set " + text + ": '" + parts[i - 1] + "' is not a map");
    if (i + 1 == parts.size()) {
      node[parts[i]] = value;
      return;
    }
    if (!node[parts[i]].IsDefined() || node[parts[i]].IsNull())
      node[parts[i]] = YAML::Node(YAML::NodeType::Map);
    descend(node[parts[i]], i + 1);
  };
  descend(root, 0);
  origin.overrides[path] = "--set " + path + "=" + abbreviated(text.substr(eq + 1));
}

}  // namespace assim
