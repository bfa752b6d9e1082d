// What `assim run --adopt` needs beyond the hash: whether the settings a
// result was computed with are the settings of today, up to parameters
// added since at their defaults (which, by the rule that a new parameter's
// default keeps the old behaviour, compute the same).
#pragma once

#include <assim/parameters.hpp>

#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

namespace assim {

// "" when `now` equals `then` once the keys `then` lacks are left out where
// `now` holds their declared default; else the first difference, as
// "stages.fit.epochs: 40 then, 8 now".
std::string settings_difference(const YAML::Node& now, const YAML::Node& then, const std::vector<Parameter>& declared,
                                const std::string& path);

}  // namespace assim
