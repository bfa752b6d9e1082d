// An experiment file: components and stages wired by `$name` references.
// Loading checks the structure; a Session builds components, orders the
// stages and runs them into runs/<experiment>/<stage>/.
#pragma once

#include <assim/framework/plugins.hpp>

#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace YAML {
class Node;
}

namespace assim {

struct ConfigOrigin;
class Stage;

struct RunOptions {
  std::filesystem::path output_root = "runs";
  std::vector<std::string> only;  // run just the stages these names or glob patterns select (their inputs must have results)
  bool force = false; // recompute even when a result with the same hash exists
  bool keep_going = false;  // after a failed stage, run the stages that do not need it
  // Keep each selected result an earlier build computed where nothing else
  // changed and today's build recomputes its cheapest part bit for bit, and
  // report the others.
  bool adopt = false;
  // Results of the stages the --set overrides change go to <stage>@<variant>,
  // beside those of the base settings; the unchanged stages are shared.
  std::string variant;
  // The options as one line, for the ranks to agree on.
  std::string text() const;
};

class Session {
 public:
  // Reads the file, applies `--set path=value` overrides and loads plugins.
  Session(const std::filesystem::path& file, const std::vector<std::string>& overrides);
  ~Session();

  const std::string& name() const;
  // Everything that can be checked without running: every component and
  // stage against its declaration, references, cycles; builds the components.
  void validate();
  // The stages, in run order, that `run` with `--variant variant` writes to
  // <stage>@<variant>: those whose resolved settings the --set values change,
  // directly, through a component or through an input.
  std::vector<std::string> variant_stages(const std::string& variant);
  // Runs the stages in dependency order, reusing unchanged results.
  void run(const RunOptions& options);
  // The experiment as validated: sweeps expanded, overrides applied,
  // defaults filled (YAML text).
  std::string resolved() const;
  // The stage names in the order they run.
  std::vector<std::string> order() const;
  // The folder of a stage's result under `output_root` (after validate):
  // OUTPUT/<experiment>/<stage>, or <stage>@<variant> where run with
  // `--variant` wrote it.
  std::filesystem::path result_folder(const std::filesystem::path& output_root, const std::string& stage) const;
  const PluginCatalog& catalog() const;
  // The defaults and the experiment's plugin_path, loaded; more may be added.
  PluginCatalog& catalog();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// A stage's result folder is complete when this file is in it.
inline constexpr const char* stage_record_file = "stage.yaml";

}  // namespace assim
