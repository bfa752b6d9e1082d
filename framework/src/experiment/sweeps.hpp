// A grid of stages in a few lines: named dimensions under `sweeps:` and
// components and stages that run `over:` some of them expand, before
// anything is checked, into one component or stage per combination.
//
//   sweeps:
//     op:   {easy: $easy, hard: $hard}          # label: value
//     n:    [1, 2, 4]                           # labels are the values
//     infl: [1.0, 1.1]                          # labels 1p0, 1p1: a number's '.' is 'p'
//   components:
//     letkf_<infl>:   {type: sampler.enkf, over: infl, inflation: {posterior_anomalies: <infl>}}
//   stages:
//     obs_<op>_n<n>:  {run: observe, over: [op, n], operator: <op>, every: <n>, ...}
//     soad_<op>_n<n>: {run: assimilate, over: [op, n], observations: $obs_<op>_n<n>, prior: $prior_<op>, ...}
//     scores:         {run: evaluate, of: [$soad_<op>_n<n>]}
//     letkf_<infl>:   {run: assimilate, over: infl, sampler: $letkf_<infl>, ...}
//
// In a stage that runs over a dimension, `<dim>` as a whole value is that
// dimension's value (any YAML), and `<dim>` inside a longer text (a name, a
// `$reference`) is its label. A stage's name holds `<dim>` for each of its
// dimensions, so that every combination has its own name. In a list, an
// element that names dimensions the stage does not run over expands into
// every combination of its own dimensions (in the order declared, the first
// slowest); neighbours naming the same dimensions expand together, element by
// element. A `<word>` that names no dimension is refused where it is written,
// in a file with sweeps or without. A stage that declares a `sweep` section
// (evaluate) and whose `of:` elements expand over dimensions is given those
// dimensions and each element's coordinates there (a number as itself,
// another value by its label), to collect its runs over the sweep. A file's
// sweeps make at most 10^5 stages and components, counted before any is made.
// Angle brackets, unlike braces, need no quotes in YAML's flow style.
#pragma once

#include <yaml-cpp/yaml.h>

#include <map>
#include <set>
#include <string>
#include <tuple>

namespace assim {

struct ConfigOrigin;

// Where a dimension's value was put as a whole value: in the components of a
// type or the stages of a kind (section "components" or "stages", the type
// or the `run:`), at a dotted key path of theirs ("localisation.radius").
// A run of a sweep that was not made over the dimension has the setting
// there at its default (settings absent from a cell are at their default).
using SweepPlaces = std::map<std::string, std::set<std::tuple<std::string, std::string, std::string>>>;

// Replaces `components:` and `stages:` of `root` by their expansion and
// removes `sweeps:`; the origin learns where each expanded value came from.
// Returns where each dimension's values were put.
// Throws ConfigError naming the file, line and key of a bad sweep.
SweepPlaces expand_sweeps(YAML::Node root, ConfigOrigin& origin);

}  // namespace assim
