// The experiment file's own rules: which names may become folders, and how
// a `--set a.b.c=value` override edits the tree before validation.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>

namespace assim {

struct ConfigOrigin;

// Names become folders under the output root: a plain identifier, so that no
// name can reach outside the experiment's folder or hide among its own
// temporary folders.
bool is_plain_name(const std::string& name);
extern const char* const plain_name_rule;

// Applies one `--set a.b.c=value` to the experiment tree; the origin records it.
void apply_override(YAML::Node root, const std::string& text, ConfigOrigin& origin);

}  // namespace assim
