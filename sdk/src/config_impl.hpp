// The inside of assim::Config, shared by libassim_sdk and the framework (which
// builds Configs from the experiment file). Not installed: plugins see only
// the read-only view of config.hpp.
#pragma once

#include <assim/config.hpp>
#include <assim/parameters.hpp>

#include <yaml-cpp/yaml.h>

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace assim {

// Where values came from, for error messages: the experiment file, and the
// values that `--set path=value` replaced on the command line.
struct ConfigOrigin {
  std::string file;
  std::map<std::string, std::string> overrides;  // dotted path -> "--set path=value"
  // Values a sweep made (copies, placeless): dotted path -> "file:line:column"
  // of the value in the stage they were expanded from.
  std::map<std::string, std::string> expanded;
};

// Finds (building it if needed) the component `name` for the value at
// `where` (file:line) and `path` (dotted key), or throws ConfigError there.
using ComponentResolver = std::function<std::shared_ptr<Component>(const std::string& name, Kind kind,
                                                                   const std::string& where, const std::string& path)>;

struct Config::Impl {
  YAML::Node node;  // a map, validated and with defaults filled
  std::string path; // dotted path of this section: "components.qg"
  std::shared_ptr<const ConfigOrigin> origin;
  std::vector<Parameter> declared;
  ComponentResolver resolve;
  std::shared_ptr<std::set<std::string>> read = std::make_shared<std::set<std::string>>();
};

// "file:line:column" of a node (or of the enclosing section's node when the
// value was filled from a default and has no place in the file).
ASSIM_API std::string location(const ConfigOrigin& origin, const YAML::Node& node, const std::string& path,
                     const YAML::Node& fallback);

// Checks `node` (a map) against `declared` and fills in the defaults. Keys in
// `reserved` (such as `type`) are left alone. Throws ConfigError naming the
// file, line and key at fault, with a did-you-mean for unknown keys.
ASSIM_API void validate_settings(YAML::Node node, const std::vector<Parameter>& declared, const ConfigOrigin& origin,
              const std::string& path, const std::set<std::string>& reserved,
              const std::string& owner);

// Refuses a map anywhere under `node` that gives one key twice (naming the
// second place), and keys that are not plain scalars.
ASSIM_API void check_unique_keys(const YAML::Node& node, const ConfigOrigin& origin, const std::string& path);

// The closest candidate to `word` by edit distance, or "" if none is close.
ASSIM_API std::string closest(const std::string& word, const std::vector<std::string>& candidates);

ASSIM_API std::string join_path(const std::string& path, const std::string& key);

// `text` for a message: as it is up to 40 characters, else its start and its
// length (a 95-digit number, a pasted file).
ASSIM_API std::string abbreviated(const std::string& text);

// Whether `text` is well-formed UTF-8 (YAML reads nothing else).
ASSIM_API bool is_utf8(const std::string& text);

}  // namespace assim
