#include "inputs.hpp"

#include <assim/error.hpp>
#include <assim/framework/experiment.hpp>
#include <assim/framework/netcdf.hpp>

#include <fstream>
#include <sstream>

namespace assim::report {

Input read_input(const std::filesystem::path& folder) {
  Input in;
  in.folder = folder;
  in.name = folder.filename().string();
  const auto path = folder / stage_record_file;
  std::ifstream file(path);
  if (!file) throw Error("cannot read " + path.string());
  std::stringstream text;
  text << file.rdbuf();
  in.record_text = text.str();
  in.record = YAML::Load(in.record_text);
  in.kind = in.record["run"].as<std::string>("");
  return in;
}

std::optional<Input> observations_of(const Input& assimilate, std::string& why) {
  auto result = netcdf::File::open(assimilate.folder / assimilate.record["config"]["out"].as<std::string>());
  if (!result.has_attribute("", "observations_stage")) {
    why = "the result does not name its observe stage";
    return std::nullopt;
  }
  const std::string name = result.text_attribute("", "observations_stage");
  const auto folder = assimilate.folder.parent_path() / name;
  if (!std::filesystem::exists(folder / stage_record_file)) {
    why = "the result of observe stage '" + name + "' is gone";
    return std::nullopt;
  }
  Input observe = read_input(folder);
  if (observe.record["hash"].as<std::string>("") != assimilate.record["inputs"][name].as<std::string>("")) {
    why = "observe stage '" + name + "' was rerun with other settings since";
    return std::nullopt;
  }
  return observe;
}

}  // namespace assim::report
