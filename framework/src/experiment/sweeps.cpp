#include "sweeps.hpp"

#include "config_impl.hpp"
#include "experiment_file.hpp"

#include <assim/error.hpp>
#include <assim/framework/stage.hpp>

#include <algorithm>
#include <cctype>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace assim {

namespace {

// The most stages the sweeps of one file may make. The papers' grid is 444
// stages; 10^5 validate in about 20 s (bench/sweeps/README.md), but each is a
// result folder, and a run of that many would take months. More is taken for
// a dimension swept by mistake, refused before anything is built.
constexpr std::size_t most_stages = 100000;
// The most list elements the sweeps of one file may make, all lists together:
// ten references to each stage at the limit.
constexpr std::size_t most_elements = 10 * most_stages;

struct Dimension {
  std::vector<std::pair<std::string, YAML::Node>> values;  // label, value
  // Whether its values are numbers, each another: the coordinates of a
  // collected result are then the numbers, else the labels.
  bool numbers = false;
};

struct Sweeps {
  std::vector<std::string> order;  // as declared: the first varies slowest
  std::map<std::string, Dimension> dims;
};

using Combination = std::map<std::string, std::pair<std::string, YAML::Node>>;  // dim -> (label, value)

std::string where(const ConfigOrigin& origin, const YAML::Node& node, const YAML::Node& root) {
  return location(origin, node, "", root);
}

// A label goes into stage names: letters, digits, '_' and '-'.
bool is_label(const std::string& text) {
  return !text.empty() && text.size() <= 64 && std::all_of(text.begin(), text.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
}

bool names(const std::string& text, const std::string& dim) { return text.find("<" + dim + ">") != std::string::npos; }

// Whether a value is a number: a plain scalar that reads whole as one
// (quoted, "1.5" is a string).
bool is_number(const YAML::Node& value) {
  if (!value.IsScalar() || value.Tag() == "!") return false;
  try {
    std::size_t used = 0;
    (void)std::stod(value.Scalar(), &used);
    return used == value.Scalar().size();
  } catch (const std::exception&) {
    return false;
  }
}

// The label of a value in a list: the value itself, a number's '.' written
// 'p' (1.1: 1p1) and its exponent's '+' left out (1e+3: 1e3), so that
// numbers need no invented labels.
std::string label_of(const YAML::Node& value) {
  const std::string& text = value.Scalar();
  if (!is_number(value)) return text;
  std::string out;
  for (char c : text)
    if (c == '.') out += 'p';
    else if (c != '+') out += c;
  return out;
}

// The first `<word>` in `text` whose word is a plain name but no dimension
// of `all`: a placeholder that nothing would fill.
std::string unknown_placeholder(const std::string& text, const std::vector<std::string>& dims) {
  for (auto open = text.find('<'); open != std::string::npos; open = text.find('<', open + 1)) {
    const auto close = text.find('>', open + 1);
    if (close == std::string::npos) return "";
    const std::string word = text.substr(open + 1, close - open - 1);
    if (is_plain_name(word) && std::find(dims.begin(), dims.end(), word) == dims.end()) return word;
  }
  return "";
}

// The error for a placeholder that names no dimension.
[[noreturn]] void no_such_dimension(const std::string& at, const std::string& path, const std::string& text,
                                    const std::string& word, const std::vector<std::string>& dims) {
  const std::string near = closest(word, dims);
  throw ConfigError(at, path,
                    "'" + text + "' holds <" + word + ">, but no dimension '" + word + "' is under sweeps:" +
                        (near.empty() ? "" : "; did you mean '" + near + "'?") + " (dimensions: " +
                        list_text(dims) + ")");
}

// The first scalar under `node` that names a dimension of `all`, and the dimension.
std::pair<YAML::Node, std::string> naming_a_dimension(const YAML::Node& node, const Sweeps& all) {
  if (node.IsScalar()) {
    for (const auto& dim : all.order)
      if (names(node.Scalar(), dim)) return {node, dim};
  } else if (node.IsMap() || node.IsSequence()) {
    for (const auto& item : node)
      if (auto found = naming_a_dimension(node.IsMap() ? item.second : static_cast<const YAML::Node&>(item), all);
          !found.second.empty())
        return found;
  }
  return {};
}

Sweeps dimensions(const YAML::Node& sweeps, const ConfigOrigin& origin, const YAML::Node& root) {
  Sweeps out;
  if (!sweeps.IsDefined() || sweeps.IsNull()) return out;
  if (!sweeps.IsMap())
    throw ConfigError(where(origin, sweeps, root), "sweeps", "must map each dimension's name to its values");
  for (const auto& kv : sweeps) {
    const std::string name = kv.first.Scalar(), path = "sweeps." + name;
    if (!is_plain_name(name))
      throw ConfigError(where(origin, kv.first, root), path, "'" + name + "' is not a plain name (" + plain_name_rule + ")");
    Dimension d;
    if (kv.second.IsMap()) {
      for (const auto& value : kv.second) d.values.emplace_back(value.first.Scalar(), value.second);
    } else if (kv.second.IsSequence()) {
      for (const auto& value : kv.second) {
        if (!value.IsScalar())
          throw ConfigError(where(origin, value, root), path,
                            "a list of values must hold scalars; give other values labels: {label: value, ...}");
        d.values.emplace_back(label_of(value), value);
      }
    } else {
      throw ConfigError(where(origin, kv.second, root), path,
                        "must be a list of values or a map of labels to values");
    }
    if (d.values.empty()) throw ConfigError(where(origin, kv.second, root), path, "has no values");
    std::set<std::string> labels;
    for (const auto& [label, value] : d.values) {
      if (!is_label(label))
        throw ConfigError(where(origin, value, root), path,
                          "label '" + label + "' cannot be part of a stage name (letters, digits, '_', '-'); "
                          "give the values labels: {label: value, ...}");
      if (!labels.insert(label).second)
        throw ConfigError(where(origin, value, root), path, "lists '" + label + "' twice");
    }
    std::set<double> distinct;
    d.numbers = std::all_of(d.values.begin(), d.values.end(), [&](const auto& value) {
      return is_number(value.second) && distinct.insert(std::stod(value.second.Scalar())).second;
    });
    out.order.push_back(name);
    out.dims.emplace(name, std::move(d));
  }
  // A value is put in as it is, once: one that names a dimension would need
  // a second expansion, and which combination it takes would be a guess.
  for (const auto& dim : out.order)
    for (const auto& [label, value] : out.dims.at(dim).values)
      if (const auto [at, named] = naming_a_dimension(value, out); !named.empty())
        throw ConfigError(where(origin, at, root), "sweeps." + dim,
                          "value '" + label + "' names dimension '" + named +
                              "' (<" + named + ">); the values of a dimension cannot name dimensions");
  return out;
}

std::string with_labels(std::string text, const Combination& combination) {
  for (const auto& [dim, value] : combination) {
    const std::string placeholder = "<" + dim + ">";
    for (auto at = text.find(placeholder); at != std::string::npos; at = text.find(placeholder, at + value.first.size()))
      text.replace(at, placeholder.size(), value.first);
  }
  return text;
}

// How many combinations `dims` make; past `most`, most + 1 (no overflow).
std::size_t count(const std::vector<std::string>& dims, const Sweeps& all, std::size_t most) {
  std::size_t n = 1;
  for (const auto& dim : dims) n = std::min(n * all.dims.at(dim).values.size(), most + 1);
  return n;
}

// "a (3) x b (20)": the dimensions with their sizes, for messages.
std::string sizes(const std::vector<std::string>& dims, const Sweeps& all) {
  std::string out;
  for (const auto& dim : dims)
    out += (out.empty() ? "" : " x ") + dim + " (" + std::to_string(all.dims.at(dim).values.size()) + ")";
  return out;
}

// Calls `each` with every combination of `dims` added to `fixed`, the first
// dimension varying slowest; builds one combination at a time.
template <typename Each>
void for_each_combination(const std::vector<std::string>& dims, const Sweeps& all, Combination& fixed,
                          const Each& each, std::size_t i = 0) {
  if (i == dims.size()) return each(static_cast<const Combination&>(fixed));
  for (const auto& value : all.dims.at(dims[i]).values) {
    // Replaced, not assigned: assigning to a YAML::Node writes through to
    // the node it refers to, the previous value in sweeps:.
    fixed.erase(dims[i]);
    fixed.emplace(dims[i], value);
    for_each_combination(dims, all, fixed, each, i + 1);
  }
  fixed.erase(dims[i]);
}

// The dims of `all` (in declared order) that the scalar names as <dim> but
// `combination` does not fix.
std::vector<std::string> free_dims(const YAML::Node& node, const Combination& combination, const Sweeps& all) {
  std::vector<std::string> out;
  if (!node.IsScalar()) return out;
  for (const auto& dim : all.order)
    if (!combination.count(dim) && names(node.Scalar(), dim)) out.push_back(dim);
  return out;
}

// A list element made from one that named dimensions: that element as
// written (without '$', the dimensions its stage runs over put in), and each
// dimension it expanded over with its coordinate there.
struct Cell {
  std::string from;
  std::vector<std::pair<std::string, std::string>> at;
};

// Puts the values and labels of combinations into a stage. Every map, list
// and scalar it returns is the stage's own copy (an override of one stage
// changes no other), and the origin learns where in the file each came from.
class Expander {
 public:
  Expander(const Sweeps& all, ConfigOrigin& origin, const YAML::Node& root) : all_(all), origin_(origin), root_(root) {}

  // What the entry expanded is, for messages: "stage" or "component".
  void expanding(const std::string& what) { what_ = what; }
  // The entry whose fields are substituted next: its section, type or kind,
  // and path ("components.letkf_2").
  // `collecting`: whether the entry collects its runs over the sweep (its
  // kind declares a `sweep` section), so that its list elements' cells are
  // kept (cells_, for this entry only).
  void entering(const std::string& section, const std::string& kind, const std::string& path, bool collecting) {
    section_ = section;
    kind_ = kind;
    entry_ = path + ".";
    collecting_ = collecting;
    cells_.clear();
  }

  YAML::Node substitute(const YAML::Node& node, const Combination& combination, const std::string& path) {
    if (node.IsScalar()) {
      const std::string& text = node.Scalar();
      if (text.size() > 2 && text.front() == '<' && text.back() == '>') {
        const std::string dim = text.substr(1, text.size() - 2);
        if (auto it = combination.find(dim); it != combination.end()) {
          // A place in a list ("masks[0]") is not a setting to read back.
          if (path.rfind(entry_, 0) == 0 && path.find('[') == std::string::npos)
            places_[dim].emplace(section_, kind_, path.substr(entry_.size()));
          return substitute(it->second.second, {}, path);
        }
      }
      if (const auto unfixed = free_dims(node, combination, all_); !unfixed.empty())
        throw ConfigError(where(origin_, node, root_), path,
                          "'" + text + "' names dimension '" + unfixed.front() + "', which this " + what_ +
                              " does not run over (add it to over:, or list it: [" + text + "])");
      if (const std::string word = unknown_placeholder(text, all_.order); !word.empty())
        no_such_dimension(where(origin_, node, root_), path, text, word, all_.order);
      origin_.expanded[path] = where(origin_, node, root_);
      YAML::Node copy(with_labels(text, combination));
      if (node.Tag() == "!") copy.SetTag("!");  // quoted in the file: a string, even "1"
      return copy;
    }
    origin_.expanded[path] = where(origin_, node, root_);
    if (node.IsMap()) {
      // Keys are unique (check_unique_keys): appended, not looked up.
      YAML::Node out(YAML::NodeType::Map);
      for (const auto& kv : node)
        out.force_insert(kv.first.Scalar(), substitute(kv.second, combination, join_path(path, kv.first.Scalar())));
      return out;
    }
    if (node.IsSequence()) return list(node, combination, path);
    return node;
  }

 private:
  // An element naming dims this stage does not run over expands into every
  // combination of them, and a run of elements naming the same dims expands
  // together, element by element: [$a_<n>, $b_<n>] is [$a_1, $b_1, $a_2,
  // $b_2, ...]. Elements naming other dims expand on their own, so that none
  // repeats: [$a_<n>, $b_<m>] is [$a_1, $a_2, ..., $b_1, $b_2, ...]. Each
  // element made is known by its own place in the list made.
  YAML::Node list(const YAML::Node& node, const Combination& combination, const std::string& path) {
    std::vector<YAML::Node> items;
    for (const YAML::Node& item : node) items.push_back(item);
    YAML::Node out(YAML::NodeType::Sequence);
    for (std::size_t i = 0; i < items.size();) {
      const std::vector<std::string> dims = free_dims(items[i], combination, all_);
      std::size_t end = i + 1;
      while (!dims.empty() && end < items.size() && free_dims(items[end], combination, all_) == dims) ++end;
      if (!dims.empty()) {
        const std::size_t made = count(dims, all_, most_elements) * (end - i);
        elements_ += made;
        if (elements_ > most_elements)
          throw ConfigError(where(origin_, items[i], root_), path + "[" + std::to_string(i) + "]",
                            "'" + items[i].Scalar() + "' expands over " + sizes(dims, all_) + " into " +
                                (made > most_elements ? "more than " + std::to_string(most_elements)
                                                      : std::to_string(made)) +
                                " elements, " + std::to_string(elements_ - made) +
                                " before it; the sweeps of a file may make at most " + std::to_string(most_elements) +
                                " list elements in all");
      }
      Combination each = combination;
      for_each_combination(dims, all_, each, [&](const Combination& c) {
        for (std::size_t k = i; k < end; ++k) {
          const std::string element = path + "[" + std::to_string(out.size()) + "]";
          out.push_back(substitute(items[k], c, element));
          if (dims.empty() || !collecting_) continue;
          Cell& cell = cells_[element];
          cell.from = with_labels(items[k].Scalar(), combination);
          if (!cell.from.empty() && cell.from[0] == '$') cell.from.erase(0, 1);
          for (const auto& dim : dims)
            cell.at.emplace_back(dim, all_.dims.at(dim).numbers ? c.at(dim).second.Scalar() : c.at(dim).first);
        }
      });
      i = end;
    }
    return out;
  }

 public:
  // The list elements made from an element that named dimensions, by their
  // path ("stages.scores.of[3]").
  std::map<std::string, Cell> cells_;
  SweepPlaces places_;

 private:
  const Sweeps& all_;
  ConfigOrigin& origin_;
  const YAML::Node& root_;
  std::size_t elements_ = 0;  // list elements made so far, all lists together
  std::string what_ = "stage";
  std::string section_, kind_, entry_ = "\n";  // of the entry substituted
  bool collecting_ = false;
};

// A stage or component as the file writes it, and the dimensions it runs over.
struct Template {
  YAML::Node key, body;
  std::string name;
  std::string section, what;  // "stages", "stage" or "components", "component"
  std::vector<std::string> dims;
};

// The stage's `over:`, checked against the sweeps and the stage's name.
std::vector<std::string> over(const Template& stage, const Sweeps& all, const ConfigOrigin& origin,
                              const YAML::Node& root) {
  const std::string path = stage.section + "." + stage.name;
  if (const std::string word = unknown_placeholder(stage.name, all.order); !word.empty())
    no_such_dimension(where(origin, stage.key, root), path, stage.name, word, all.order);
  const YAML::Node node = stage.body.IsMap() ? stage.body["over"] : YAML::Node();
  std::vector<YAML::Node> listed;  // none: a stage of its own
  if (node.IsDefined() && node.IsSequence())
    for (const YAML::Node& d : node) listed.push_back(d);
  else if (node.IsDefined() && node.IsScalar())
    listed.push_back(node);
  else if (node.IsDefined())
    throw ConfigError(where(origin, node, root), path + ".over", "must name the dimensions under sweeps:");
  std::vector<std::string> dims;
  for (const auto& d : listed) {
    if (!d.IsScalar())
      throw ConfigError(where(origin, d, root), path + ".over", "must name the dimensions under sweeps:");
    const std::string& dim = d.Scalar();
    if (!all.dims.count(dim)) {
      const std::string near = closest(dim, all.order);
      throw ConfigError(where(origin, d, root), path + ".over",
                        "no dimension '" + dim + "' under sweeps:" + (near.empty() ? "" : "; did you mean '" + near + "'?"));
    }
    if (std::find(dims.begin(), dims.end(), dim) != dims.end())
      throw ConfigError(where(origin, d, root), path + ".over", "lists dimension '" + dim + "' twice");
    if (!names(stage.name, dim))
      throw ConfigError(where(origin, stage.key, root), path,
                        "the name of a " + stage.what + " that runs over '" + dim + "' must hold <" + dim +
                            ">, so that each combination has its own name");
    dims.push_back(dim);
  }
  for (const auto& dim : all.order)
    if (names(stage.name, dim) && std::find(dims.begin(), dims.end(), dim) == dims.end())
      throw ConfigError(where(origin, stage.key, root), path,
                        "the name holds <" + dim + ">, but the " + stage.what + " does not run over '" + dim +
                            "' (add it to over:)");
  return dims;
}

// Whether stages of this kind collect their runs over a sweep: they declare
// a `sweep` section (evaluate).
bool collects(const std::string& kind) {
  static const std::map<std::string, bool> known = [] {
    std::map<std::string, bool> out;
    for (const auto& [name, stage] : stages()) {
      const Parameter* declared = stage->parameters().find("sweep");
      out[name] = declared && declared->type == ParameterType::Section;
    }
    return out;
  }();
  const auto it = known.find(kind);
  return it != known.end() && it->second;
}

// A stage that collects its runs over a sweep is given, for the runs its
// list `of:` names, the dimensions its elements expanded over, each
// element's coordinates and the element it was made from, unless the file
// gives them.
void collected(YAML::Node body, const std::string& path, const std::map<std::string, Cell>& cells,
               const Sweeps& all) {
  const YAML::Node of = body["of"];
  if (!of.IsSequence() || body["sweep"].IsDefined()) return;
  std::vector<std::string> dims;
  for (const auto& dim : all.order)
    for (std::size_t i = 0; i < of.size() && std::find(dims.begin(), dims.end(), dim) == dims.end(); ++i)
      if (const auto cell = cells.find(path + ".of[" + std::to_string(i) + "]"); cell != cells.end())
        for (const auto& [named, value] : cell->second.at)
          if (named == dim) {
            dims.push_back(dim);
            break;
          }
  if (dims.empty()) return;
  YAML::Node sweep(YAML::NodeType::Map), listed(YAML::NodeType::Sequence), values(YAML::NodeType::Sequence),
      from(YAML::NodeType::Sequence);
  for (const auto& dim : dims) listed.push_back(dim);
  for (std::size_t i = 0; i < of.size(); ++i) {
    const auto cell = cells.find(path + ".of[" + std::to_string(i) + "]");
    // A run listed by its name is its own template.
    from.push_back(cell != cells.end() ? cell->second.from
                   : of[i].IsScalar() && !of[i].Scalar().empty() ? of[i].Scalar().substr(1) : std::string());
    for (const auto& dim : dims) {
      std::string value;  // absent: the run was not made over this dimension
      if (cell != cells.end())
        for (const auto& [named, coordinate] : cell->second.at)
          if (named == dim) value = coordinate;
      values.push_back(value);
    }
  }
  sweep["dims"] = listed;
  sweep["values"] = values;
  sweep["templates"] = from;
  body["sweep"] = sweep;
}

}  // namespace

SweepPlaces expand_sweeps(YAML::Node root, ConfigOrigin& origin) {
  const Sweeps all = dimensions(root["sweeps"], origin, root);
  if (root["sweeps"].IsDefined()) root.remove("sweeps");
  // Components expand as stages do: a component written once over some
  // dimensions is one component per combination, which the stages over the
  // same dimensions name by label ($letkf_r<radius>).
  const std::vector<std::pair<std::string, std::string>> sections = {{"components", "component"},
                                                                     {"stages", "stage"}};
  bool over_any = false;
  for (const auto& [section, what] : sections)
    if (const YAML::Node entries = root[section]; entries.IsMap())
      over_any = over_any || std::any_of(entries.begin(), entries.end(), [](const auto& kv) {
                   return kv.second.IsMap() && kv.second["over"].IsDefined();
                 });
  if (all.order.empty() && !over_any) {
    // The file's own nodes, places and all; a placeholder in them would
    // reach a component as text.
    for (const auto& [section, what] : sections)
      if (const YAML::Node entries = root[section]; entries.IsMap())
        for (const auto& kv : entries) {
          const std::string path = section + "." + kv.first.Scalar();
          if (const std::string word = unknown_placeholder(kv.first.Scalar(), {}); !word.empty())
            no_such_dimension(where(origin, kv.first, root), path, kv.first.Scalar(), word, {});
          std::function<void(const YAML::Node&, const std::string&)> scan = [&](const YAML::Node& node,
                                                                                const std::string& at) {
            if (node.IsScalar()) {
              if (const std::string word = unknown_placeholder(node.Scalar(), {}); !word.empty())
                no_such_dimension(where(origin, node, root), at, node.Scalar(), word, {});
            } else if (node.IsMap()) {
              for (const auto& field : node) scan(field.second, join_path(at, field.first.Scalar()));
            } else if (node.IsSequence()) {
              for (std::size_t i = 0; i < node.size(); ++i) scan(node[i], at + "[" + std::to_string(i) + "]");
            }
          };
          scan(kv.second, path);
        }
    return {};
  }

  // Every entry's dimensions checked and counted before any is expanded.
  std::vector<Template> templates;
  std::size_t made = 0;
  for (const auto& [section, what] : sections) {
    const YAML::Node entries = root[section];
    if (!entries.IsMap()) continue;  // the session says what is wrong with it
    for (const auto& kv : entries) {
      Template stage{kv.first, kv.second, kv.first.Scalar(), section, what, {}};
      stage.dims = over(stage, all, origin, root);
      const std::size_t n = count(stage.dims, all, most_stages);
      made += n;
      if (made > most_stages)
        throw ConfigError(where(origin, stage.key, root), section + "." + stage.name,
                          "runs over " + sizes(stage.dims, all) + ": " +
                              (n > most_stages ? "more than " + std::to_string(most_stages) : std::to_string(n)) +
                              " " + what + "s, " + std::to_string(made - n) +
                              " before it (components count); the sweeps of a file may make at most " +
                              std::to_string(most_stages) + " stages and components");
      templates.push_back(std::move(stage));
    }
  }

  Expander expander(all, origin, root);
  std::map<std::string, YAML::Node> expanded;  // section -> its entries expanded
  std::unordered_map<std::string, std::string> made_by;  // section.expanded name -> template
  made_by.reserve(made);
  for (const auto& stage : templates) {
    const std::string from = stage.section + "." + stage.name;
    YAML::Node& out = expanded.try_emplace(stage.section, YAML::NodeType::Map).first->second;
    expander.expanding(stage.what);
    Combination none;
    for_each_combination(stage.dims, all, none, [&](const Combination& combination) {
      const std::string name = with_labels(stage.name, combination), path = stage.section + "." + name;
      if (!is_plain_name(name))
        throw ConfigError(where(origin, stage.key, root), from,
                          "makes " + stage.what + " '" + name + "', which is not a plain name (" + plain_name_rule +
                              ")");
      if (const auto [it, fresh] = made_by.emplace(path, stage.name); !fresh)
        throw ConfigError(where(origin, stage.key, root), from,
                          "makes " + stage.what + " '" + name + "', which " +
                              (it->second == name ? "is already " + std::string(article(stage.what)) + " " + stage.what
                                                  : stage.what + " '" + it->second + "' also makes"));
      if (!stage.body.IsMap()) {  // not a stage (and over nothing): the session says why
        out.force_insert(stage.key, expander.substitute(stage.body, combination, path));
        return;
      }
      // Names are unique (made_by), keys too (check_unique_keys): appended
      // without yaml-cpp's lookup, which scans the map.
      YAML::Node body(YAML::NodeType::Map);
      const YAML::Node field = stage.body[stage.section == "stages" ? "run" : "type"];
      const std::string kind = field.IsDefined() && field.IsScalar() ? field.Scalar() : "";
      const bool collecting = stage.section == "stages" && collects(kind);
      expander.entering(stage.section, kind, path, collecting);
      for (const auto& field : stage.body)
        if (field.first.Scalar() != "over")
          body.force_insert(field.first.Scalar(),
                            expander.substitute(field.second, combination, join_path(path, field.first.Scalar())));
      if (collecting) collected(body, path, expander.cells_, all);
      origin.expanded[path] = where(origin, stage.body, root);
      out.force_insert(stage.dims.empty() ? stage.key : YAML::Node(name), body);
    });
  }
  for (const auto& [section, entries] : expanded) root[section] = entries;
  return expander.places_;
}

}  // namespace assim
