// What the runner knows of the stages' results and writes beside them: the
// folder each result is in (its own, a variant's, or one found by its
// settings), the parts of each stage's hash as today's settings, code,
// inputs and files make them, and the record committed with a result.
#pragma once

#include "stage_hash.hpp"

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <string>

namespace assim {

class Config;
class ExperimentGraph;
struct ComponentEntry;
struct LoadedPlugin;

// A file a stage reads, digested when read.
struct FileRead {
  std::filesystem::path path;
  std::string digest;
};

class RecordStore {
 public:
  explicit RecordStore(const ExperimentGraph& graph);

  // --variant: the stages the overrides change, directly or through a
  // component or an input, write to <stage>@<variant>; the others are shared.
  void use_variant(const std::string& variant, std::set<std::string> varied);
  // A stage whose result is read from another folder, found by its settings.
  void locate(const std::string& stage, const std::string& result);
  // The folder of the stage's result under the experiment's folder.
  std::string result_name(const std::string& stage) const;

  // The hash's parts (hash_parts.cpp).
  // Every file the stage reads, by the key that names it: its own
  // input_file() parameters, those of the components it uses, and the files
  // the stage names itself (the arrays of a meta.json restart), each
  // digested once, now: the hash and the record hold the same digest.
  std::map<std::string, FileRead> files_read(const std::string& name, const Config& config) const;
  // What a stage's hash is made of (stage_hash.hpp): the code that runs it
  // (host, SDK, each component's plugin build), the stage's settings and its
  // components', the identity of each input it reads (hash and output
  // bytes) and the digests of the files it reads.
  std::string hash_of(const std::string& name, const std::map<std::string, std::string>& identities,
                      const std::map<std::string, FileRead>& files) const;
  // The hash today's settings, code, inputs and files give `name`, or ""
  // when one of its inputs has no result.
  std::string hash_now(const std::string& name, const std::map<std::string, std::string>& identities) const;
  // What a stage uses, as its record lists it.
  stage_hash::Uses uses(const std::string& name, const std::map<std::string, FileRead>& files) const;
  // A stage's resolved settings and its components' (with their plugins'
  // builds), as the hash reads them.
  std::string settings_text(const std::string& name) const;
  // "score_prior 1.2.0 <bytes> fnv1a:<hex>": a plugin rebuilt with other
  // code but the same version is a different plugin to the hash.
  std::string plugin_digest(const LoadedPlugin& plugin) const;
  std::string plugin_text(const ComponentEntry& entry) const;

  // The record of a stage that just ran into `partial`: its settings,
  // components and their plugins, inputs, files read and written, versions.
  std::string record_of(const std::string& name, const std::string& hash, const std::map<std::string, FileRead>& files,
                        const std::map<std::string, std::string>& identities, const std::filesystem::path& partial,
                        const std::string& started, double seconds) const;
  // The host and SDK builds that compute stages, as records keep them.
  static YAML::Node code_record();

 private:
  const ExperimentGraph& graph_;
  std::string variant_;
  std::set<std::string> varied_;
  // Results found by their settings rather than their name (see Planner).
  std::map<std::string, std::string> located_;
  mutable std::map<std::filesystem::path, std::string> plugin_digests_;
  mutable std::mutex plugin_digests_mutex_;  // stages of a level record side by side, on workers
};

}  // namespace assim
