#include "stage_hash.hpp"

#include "provenance.hpp"

#include <assim/abi.hpp>
#include <assim/digest.hpp>
#include <assim/workers.hpp>

#include <boost/dll/runtime_symbol_info.hpp>

#include <dlfcn.h>

namespace assim::stage_hash {

namespace fs = std::filesystem;

namespace {

Build built(const fs::path& file) {
  return {file, file_digest(file)};
}

}  // namespace

const Build& host() {
  // The binary this code is in, not the program that runs it: under Python
  // the program is the interpreter, the framework the module.
  static const Build b = built(boost::dll::this_line_location().string());
  return b;
}

const Build& sdk() {
  // The library file that holds libassim_sdk's code, wherever the loader
  // found it: asked of a function it exports (the toolkit's, file_digest
  // among them, are compiled into the host itself).
  static const Build b = [] {
    Dl_info info{};
    if (::dladdr(reinterpret_cast<void*>(&workers::count), &info) == 0 || !info.dli_fname)
      return Build{"libassim_sdk", "unknown"};
    return built(fs::absolute(info.dli_fname));
  }();
  return b;
}

std::string versions_now() {
  return "assim " ASSIM_SDK_VERSION " abi " + std::to_string(ASSIM_ABI_VERSION);
}

std::string code_now() { return "host " + host().digest + " sdk " + sdk().digest; }

std::string hash(const std::string& stage, const Parts& parts) {
  std::string text = parts.versions + "\ncode " + parts.code + "\nstage " + stage + "\n" +
                     provenance::canonical(parts.settings) + "\n";
  for (const auto& [c, plugin, settings] : parts.components)
    text += "component " + c + " plugin " + plugin + "\n" + provenance::canonical(settings) + "\n";
  for (const auto& [key, identity] : parts.inputs) text += "input " + key + " " + identity + "\n";
  for (const auto& [key, digest] : parts.files) text += "file " + key + " " + digest + "\n";
  return hex_digest(fnv1a(text));
}

std::string identity(const std::string& hash, const YAML::Node& outputs) {
  return hash + " outputs " + hex_digest(fnv1a(provenance::canonical(outputs)));
}

std::string kept_plugin(const YAML::Node& kept) {
  return kept["plugin"] ? kept["plugin"].as<std::string>() + " " + kept["plugin_version"].as<std::string>("")
                        : std::string("host");
}

Parts parts_of_record(const YAML::Node& record, const Uses& uses, std::string& missing) {
  Parts then;
  missing.clear();
  then.versions = "assim " + record["versions"]["assim"].as<std::string>("") + " abi " +
                  record["versions"]["abi"].as<std::string>("");
  then.code = "host " + record["code"]["host"]["digest"].as<std::string>("") + " sdk " +
              record["code"]["sdk"]["digest"].as<std::string>("");
  then.settings = record["config"];
  for (const auto& c : uses.components) {
    const YAML::Node kept = record["components"][c];
    if (!kept) {
      missing = "its record has no component '" + c + "'";
      return then;
    }
    const std::string build = kept["plugin"] ? " " + kept["plugin_digest"].as<std::string>("") : "";
    then.components.emplace_back(c, kept_plugin(kept) + build, kept["settings"]);
  }
  for (const auto& [key, input] : uses.inputs) {
    if (!record["inputs"][input]) {
      missing = "its record did not read stage '" + input + "'";
      return then;
    }
    then.inputs.emplace_back(key, record["inputs"][input].as<std::string>());
  }
  for (const auto& key : uses.files)
    then.files.emplace_back(key, record["files_read"][key]["digest"].as<std::string>(""));
  return then;
}

std::string unfaithful(const std::string& stage, const YAML::Node& record, const Uses& uses) {
  std::string missing;
  const Parts then = parts_of_record(record, uses, missing);
  if (!missing.empty()) return missing;
  if (hash(stage, then) != record["hash"].as<std::string>(""))
    return "its record does not reproduce its hash (written by another version of assim, or edited)";
  return "";
}

}  // namespace assim::stage_hash
