#include "config_impl.hpp"

#include <assim/shape.hpp>

#include <assim/error.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <mutex>
#include <sstream>

namespace assim {

std::string join_path(const std::string& path, const std::string& key) {
  if (path.empty()) return key;
  if (key.empty()) return path;
  return path + "." + key;
}

std::string location(const ConfigOrigin& origin, const YAML::Node& node, const std::string& path,
                     const YAML::Node& fallback) {
  auto it = origin.overrides.find(path);
  if (it != origin.overrides.end()) return "command line (" + it->second + ")";
  auto mark = node.IsDefined() ? node.Mark() : YAML::Mark::null_mark();
  if (mark.is_null())
    if (auto made = origin.expanded.find(path); made != origin.expanded.end()) return made->second;
  if (mark.is_null() && !path.empty()) {
    // A map that `--set a.b.c=v` made to hold its value: a.b is not in the file.
    const std::string below = path + ".";
    if (auto set = origin.overrides.lower_bound(below);
        set != origin.overrides.end() && set->first.compare(0, below.size(), below) == 0)
      return "command line (" + set->second + ")";
  }
  if (mark.is_null() && fallback.IsDefined()) mark = fallback.Mark();
  if (mark.is_null()) return origin.file;
  return origin.file + ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
}

std::string closest(const std::string& word, const std::vector<std::string>& candidates) {
  auto distance = [](const std::string& a, const std::string& b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
      std::size_t diagonal = row[0];
      row[0] = i;
      for (std::size_t j = 1; j <= b.size(); ++j) {
        std::size_t above = row[j];
        row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
        diagonal = above;
      }
    }
    return row[b.size()];
  };
  std::string best;
  std::size_t best_distance = std::max<std::size_t>(2, word.size() / 3) + 1;
  for (const auto& c : candidates) {
    std::size_t d = distance(word, c);
    if (d < best_distance) {
      best_distance = d;
      best = c;
    }
  }
  return best;
}

std::string abbreviated(const std::string& text) {
  constexpr std::size_t most = 40;
  if (text.size() <= most) return text;
  return text.substr(0, most - 16) + "... (" + std::to_string(text.size()) + " characters)";
}

bool is_utf8(const std::string& text) {
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    const std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    if (n == 0 || i + n > text.size()) return false;
    for (std::size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(text[i + k]) >> 6) != 0x2) return false;
    i += n;
  }
  return true;
}

namespace {

std::string describe_node(const YAML::Node& node) {
  if (node.IsScalar()) return "'" + abbreviated(node.Scalar()) + "'";
  if (node.IsSequence()) return node.size() == 0 ? "an empty list" : "a list";
  if (node.IsMap()) return "a map";
  return "nothing";
}

bool parse_integer(const YAML::Node& node, long long& out) {
  if (!node.IsScalar()) return false;
  const std::string& s = node.Scalar();
  std::size_t used = 0;
  try {
    out = std::stoll(s, &used);
  } catch (const std::exception&) {
    return false;
  }
  return used == s.size();
}

bool parse_real(const YAML::Node& node, double& out) {
  if (!node.IsScalar()) return false;
  try {
    out = node.as<double>();
  } catch (const YAML::Exception&) {
    return false;
  }
  return true;
}

void check_range(const Parameter& p, double v, const std::function<void(const std::string&)>& fail) {
  if (!std::isfinite(v)) fail("must be a finite number");
  if (p.minimum && (p.minimum_exclusive ? !(v > *p.minimum) : !(v >= *p.minimum)))
    fail("value " + number_text(v) + " out of range: must be " +
         (p.minimum_exclusive ? "> " : ">= ") + number_text(*p.minimum));
  if (p.maximum && (p.maximum_exclusive ? !(v < *p.maximum) : !(v <= *p.maximum)))
    fail("value " + number_text(v) + " out of range: must be " +
         (p.maximum_exclusive ? "< " : "<= ") + number_text(*p.maximum));
}

void check_value(YAML::Node value, const Parameter& p, const ConfigOrigin& origin,
                 const std::string& path, const YAML::Node& section, const std::string& owner) {
  auto fail = [&](const std::string& why) {
    throw ConfigError(location(origin, value, path, section), path,
                      why + " (" + owner + " expects " + p.describe() + ")");
  };
  auto wrong_type = [&]() { fail(std::string(p.type == ParameterType::Integer ? "expected an " : "expected a ") + to_string(p.type) + ", got " +
                                 describe_node(value)); };
  switch (p.type) {
    case ParameterType::Boolean:
      try {
        if (!value.IsScalar()) wrong_type();
        value.as<bool>();
      } catch (const YAML::Exception&) {
        wrong_type();
      }
      break;
    case ParameterType::Integer: {
      long long v = 0;
      if (!parse_integer(value, v)) wrong_type();
      check_range(p, static_cast<double>(v), fail);
      break;
    }
    case ParameterType::Real: {
      double v = 0;
      if (!parse_real(value, v)) wrong_type();
      check_range(p, v, fail);
      break;
    }
    case ParameterType::String:
      if (!value.IsScalar()) wrong_type();
      if (p.path_role == PathRole::OutputName) {
        const std::string& name = value.Scalar();
        if (name.empty() || name == "." || name == ".." || name[0] == '.' ||
            name.find_first_of("/\\") != std::string::npos || name.find('\0') != std::string::npos)
          fail("'" + name + "' is not a plain file name: a result stays inside its stage's folder (no '/', "
               "not '.', '..' or a hidden name)");
      }
      if (p.path_role == PathRole::InputFile && !value.Scalar().empty()) {
        std::filesystem::path file = value.Scalar();
        if (file.is_relative()) file = std::filesystem::path(origin.file).parent_path() / file;
        std::error_code ec;
        if (!std::filesystem::exists(file, ec)) fail("file " + file.string() + " does not exist");
        if (!std::filesystem::is_regular_file(file, ec)) fail(file.string() + " is not a regular file");
      }
      if (!p.choices.empty() &&
          std::find(p.choices.begin(), p.choices.end(), value.Scalar()) == p.choices.end()) {
        std::string list;
        for (const auto& c : p.choices) list += (list.empty() ? "" : ", ") + c;
        std::string near = closest(value.Scalar(), p.choices);
        fail("'" + value.Scalar() + "' is not one of " + list +
             (near.empty() ? "" : "; did you mean '" + near + "'?"));
      }
      break;
    case ParameterType::Reals:
    case ParameterType::Integers:
    case ParameterType::Strings:
      if (!value.IsSequence()) wrong_type();
      for (std::size_t i = 0; i < value.size(); ++i) {
        YAML::Node element = value[i];
        auto element_fail = [&](const std::string& why) {
          throw ConfigError(location(origin, element, path, section),
                            path + "[" + std::to_string(i) + "]",
                            why + " (" + owner + " expects " + p.describe() + ")");
        };
        if (p.type == ParameterType::Strings) {
          if (!element.IsScalar()) element_fail("expected a string, got " + describe_node(element));
          continue;
        }
        double v = 0;
        long long iv = 0;
        if (p.type == ParameterType::Integers ? !parse_integer(element, iv) : !parse_real(element, v))
          element_fail(std::string("expected ") +
                       (p.type == ParameterType::Integers ? "an integer" : "a real") + ", got " +
                       describe_node(element));
        check_range(p, p.type == ParameterType::Integers ? static_cast<double>(iv) : v,
                    element_fail);
      }
      break;
    case ParameterType::Component:
    case ParameterType::Stage:
      if (!value.IsScalar() || value.Scalar().size() < 2 || value.Scalar()[0] != '$')
        fail(std::string("expected a reference to a ") +
             (p.type == ParameterType::Stage ? "stage" : to_string(*p.component_kind)) +
             " written $name, got " + describe_node(value));
      break;
    case ParameterType::Components:
    case ParameterType::Stages:
      if (!value.IsSequence() || value.size() == 0) fail("expected a list of $name references, got " + describe_node(value));
      for (std::size_t i = 0; i < value.size(); ++i)
        if (!value[i].IsScalar() || value[i].Scalar().size() < 2 || value[i].Scalar()[0] != '$')
          throw ConfigError(location(origin, value[i], path, section), path + "[" + std::to_string(i) + "]",
                            std::string("expected a reference to a ") +
                                (p.type == ParameterType::Stages ? "stage" : to_string(*p.component_kind)) +
                                " written $name, got " + describe_node(value[i]));
      break;
    case ParameterType::Others:
      break;
    case ParameterType::Section:
      if (value.IsNull()) value = YAML::Node(YAML::NodeType::Map);
      if (!value.IsMap()) wrong_type();
      validate_settings(value, p.fields, origin, path, {}, owner);
      break;
  }
}

}  // namespace

void check_unique_keys(const YAML::Node& node, const ConfigOrigin& origin, const std::string& path) {
  if (node.IsSequence()) {
    for (std::size_t i = 0; i < node.size(); ++i)
      check_unique_keys(node[i], origin, path + "[" + std::to_string(i) + "]");
    return;
  }
  if (!node.IsMap()) return;
  // yaml-cpp keeps every pair of a map with a repeated key and answers a
  // lookup with the first, so a second 'components:' would be ignored.
  std::map<std::string, YAML::Mark> seen;
  for (const auto& entry : node) {
    if (!entry.first.IsScalar())
      throw ConfigError(location(origin, entry.first, path, node), path, "a key must be a plain name, not " +
                                                                            describe_node(entry.first));
    const std::string& key = entry.first.Scalar();
    std::string key_path = join_path(path, key);
    auto [it, fresh] = seen.emplace(key, entry.first.Mark());
    if (!fresh)
      throw ConfigError(location(origin, entry.first, key_path, node), key_path,
                        "duplicate key '" + key + "' (first given at line " + std::to_string(it->second.line + 1) +
                            "); write each key once");
    check_unique_keys(entry.second, origin, key_path);
  }
}

void validate_settings(YAML::Node node, const std::vector<Parameter>& declared, const ConfigOrigin& origin,
              const std::string& path, const std::set<std::string>& reserved,
              const std::string& owner) {
  std::vector<std::string> names;
  bool others = false;  // the component declares the keys beyond these when built (with_parameters)
  for (const auto& p : declared) {
    if (p.type == ParameterType::Others) others = true;
    else names.push_back(p.name);
  }
  for (const auto& entry : node) {
    std::string key = entry.first.Scalar();
    if (reserved.count(key) || others) continue;
    bool known = std::any_of(declared.begin(), declared.end(),
                             [&](const Parameter& p) { return p.name == key; });
    if (known) continue;
    std::string near = closest(key, names);
    std::string list;
    for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
    throw ConfigError(location(origin, entry.first, join_path(path, key), node),
                      join_path(path, key),
                      "unknown key '" + key + "' for " + owner +
                          (near.empty() ? "" : "; did you mean '" + near + "'?") +
                          " (known keys: " + (list.empty() ? "none" : list) + ")");
  }
  for (const auto& p : declared) {
    if (p.type == ParameterType::Others) continue;
    std::string key_path = join_path(path, p.name);
    YAML::Node value = node[p.name];
    if (value.IsDefined() && value.IsNull() && p.type != ParameterType::Section)
      throw ConfigError(location(origin, value, key_path, node), key_path,
                        "has no value (an explicit null such as '~' or an empty --set); give a value, or "
                        "remove the key to take " +
                            (p.presence == Presence::Defaulted ? "the default " + p.default_value
                                                               : std::string("no value")) +
                            " (" + owner + " expects " + p.describe() + ")");
    if (!value.IsDefined() || value.IsNull()) {
      if (p.presence == Presence::Required)
        throw ConfigError(location(origin, node, path, node), key_path,
                          "missing required parameter '" + p.name + "' of " + owner + " (" +
                              p.describe() + ")");
      if (p.presence == Presence::Optional) {
        if (value.IsDefined()) node.remove(p.name);
        continue;
      }
      node[p.name] = YAML::Load(p.default_value);
      value = node[p.name];
    }
    check_value(value, p, origin, key_path, node, owner);
  }
}

Config::Config(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
Config::~Config() = default;
Config::Config(const Config&) = default;
Config& Config::operator=(const Config&) = default;

namespace {
// One lock for every read of the settings' YAML: a read records the key
// (impl.read), and yaml-cpp's nodes share memory that a lookup may add to,
// while workers read settings at once (two filter repetitions reading the
// same Config corrupted the set of read keys, and the next read looped
// forever). Recursive: one read calls another. Not held while a component is
// built (resolve), which may start workers of its own.
std::recursive_mutex& yaml_lock() {
  static std::recursive_mutex mutex;
  return mutex;
}
using Locked = std::lock_guard<std::recursive_mutex>;

const YAML::Node value_of(const Config::Impl& impl, const std::string& key, const Config& self) {
  const Locked lock(yaml_lock());
  bool declared = std::any_of(impl.declared.begin(), impl.declared.end(),
                              [&](const Parameter& p) { return p.name == key; });
  if (!declared)
    throw Error("internal: " + self.path(key) + " was read but is not a declared parameter");
  YAML::Node value = impl.node[key];
  if (!value.IsDefined() || value.IsNull())
    throw ConfigError(self.where(), self.path(key), "has no value (it is optional and absent)");
  impl.read->insert(key);
  return value;
}
}  // namespace

template <class T>
T Config::get(const std::string& key) const {
  const Locked lock(yaml_lock());
  YAML::Node value = value_of(*impl_, key, *this);
  try {
    return value.as<T>();
  } catch (const YAML::Exception& e) {
    throw ConfigError(where(key), path(key), std::string("cannot be read as the type asked: ") +
                                                 e.what());
  }
}

template ASSIM_API bool Config::get<bool>(const std::string&) const;
template ASSIM_API int Config::get<int>(const std::string&) const;
template ASSIM_API long Config::get<long>(const std::string&) const;
template ASSIM_API long long Config::get<long long>(const std::string&) const;
template ASSIM_API unsigned long Config::get<unsigned long>(const std::string&) const;
template ASSIM_API double Config::get<double>(const std::string&) const;
template ASSIM_API std::string Config::get<std::string>(const std::string&) const;
template ASSIM_API std::vector<double> Config::get<std::vector<double>>(const std::string&) const;
template ASSIM_API std::vector<long> Config::get<std::vector<long>>(const std::string&) const;
template ASSIM_API std::vector<std::string> Config::get<std::vector<std::string>>(
    const std::string&) const;

bool Config::has(const std::string& key) const {
  const Locked lock(yaml_lock());
  YAML::Node value = impl_->node[key];
  return value.IsDefined() && !value.IsNull();
}

Config Config::section(const std::string& key) const {
  const Locked lock(yaml_lock());
  YAML::Node value = value_of(*impl_, key, *this);
  auto impl = std::make_shared<Impl>();
  impl->node = value;
  impl->path = path(key);
  impl->origin = impl_->origin;
  impl->resolve = impl_->resolve;
  for (const auto& p : impl_->declared)
    if (p.name == key) impl->declared = p.fields;
  return Config(impl);
}

Config Config::with_parameters(const Parameters& more, const std::string& owner) const {
  const Locked lock(yaml_lock());
  std::set<std::string> own = {"type"};
  for (const auto& p : impl_->declared)
    if (p.type != ParameterType::Others) own.insert(p.name);
  for (const auto& p : more.list())
    if (own.count(p.name))
      throw ConfigError(where(), path(), owner + " declares '" + p.name + "', a key of its type's own; rename it");
  validate_settings(impl_->node, more.list(), *impl_->origin, impl_->path, own, owner);
  auto impl = std::make_shared<Impl>(*impl_);
  impl->declared.insert(impl->declared.end(), more.list().begin(), more.list().end());
  return Config(impl);
}

std::size_t Config::count(const std::string& key) const {
  const Locked lock(yaml_lock());
  return value_of(*impl_, key, *this).size();
}

std::shared_ptr<Component> Config::component_at(const std::string& key, std::size_t index, Kind kind) const {
  std::string element = key + "[" + std::to_string(index) + "]";
  std::string name, at;
  {
    const Locked lock(yaml_lock());
    const YAML::Node value = value_of(*impl_, key, *this)[index];
    if (!impl_->resolve)
      throw ConfigError(where(key), path(element), "component references cannot be resolved here");
    name = value.Scalar().substr(1);
    at = location(*impl_->origin, value, path(element), impl_->node);
  }
  return impl_->resolve(name, kind, at, path(element));
}

std::string Config::reference(const std::string& key) const {
  const Locked lock(yaml_lock());
  return value_of(*impl_, key, *this).Scalar().substr(1);
}

std::shared_ptr<Component> Config::component_of_kind(const std::string& key, Kind kind) const {
  std::string name = reference(key);
  if (!impl_->resolve)
    throw ConfigError(where(key), path(key), "component references cannot be resolved here");
  return impl_->resolve(name, kind, where(key), path(key));
}

std::string Config::where(const std::string& key) const {
  const Locked lock(yaml_lock());
  YAML::Node node = key.empty() ? impl_->node : impl_->node[key];
  return location(*impl_->origin, node, path(key), impl_->node);
}

std::string Config::path(const std::string& key) const { return join_path(impl_->path, key); }

std::filesystem::path Config::file(const std::string& key) const {
  const std::filesystem::path value = get<std::string>(key);
  if (value.empty() || value.is_absolute() || !impl_->origin) return value;
  return std::filesystem::absolute(impl_->origin->file).parent_path() / value;
}

void Config::fail(const std::string& key, const std::string& message) const {
  throw ConfigError(where(key), path(key), message);
}

std::vector<std::string> Config::keys() const {
  const Locked lock(yaml_lock());
  std::vector<std::string> out;
  for (const auto& entry : impl_->node) out.push_back(entry.first.Scalar());
  return out;
}

std::vector<std::string> Config::unread() const {
  const Locked lock(yaml_lock());
  std::vector<std::string> out;
  for (const auto& p : impl_->declared)
    if (!impl_->read->count(p.name) && has(p.name)) out.push_back(p.name);
  return out;
}

std::string Config::yaml() const {
  const Locked lock(yaml_lock());
  YAML::Emitter out;
  out << impl_->node;
  return out.c_str();
}

}  // namespace assim
