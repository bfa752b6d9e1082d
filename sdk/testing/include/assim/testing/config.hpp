// A Config made from YAML text, checked against a declaration: for tests of
// plugins and stages, which need a component's settings without an experiment.
#pragma once

#include <assim/config.hpp>
#include <assim/parameters.hpp>

#include <map>
#include <memory>
#include <string>

namespace assim {

// Throws ConfigError (naming `file`, line and key) when `yaml` does not fit
// `declared`. `$name` references resolve to the given components.
ASSIM_API Config config_from_yaml(const std::string& yaml, const Parameters& declared, const std::string& file = "<text>",
                        std::map<std::string, std::shared_ptr<Component>> components = {});

}  // namespace assim
