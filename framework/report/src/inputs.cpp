#include "inputs.hpp"

#include <assim/digest.hpp>
#include <assim/error.hpp>
#include <assim/framework/experiment.hpp>

#include "paths.hpp"
#include "products/products.hpp"

#include <fstream>
#include <sstream>

namespace assim::report {

Input read_input(const StageInput& stage) {
  Input in;
  in.name = stage.name;
  in.kind = stage.run;
  in.folder = stage.folder;
  in.product = stage.product;
  // A stage's folder is in the run folder, beside the other stages'.
  const std::filesystem::path run_folder = stage.folder.parent_path();
  in.shown_product = shown_path(stage.product, run_folder);
  in.stage = &stage;
  const auto path = stage.folder / stage_record_file;
  std::ifstream file(path);
  if (!file) throw Error("cannot read " + path.string());
  std::stringstream text;
  text << file.rdbuf();
  in.record_text = without_machine_paths(text.str(), run_folder);
  return in;
}

std::optional<Input> observations_of(const Input& assimilate, std::string& why) {
  const StageInput& observe = assimilate.stage->input("observations");
  if (!std::filesystem::exists(observe.product)) {
    why = "the result of observe stage '" + observe.name + "' is gone";
    return std::nullopt;
  }
  if (products::read_observations_digest(assimilate.product) != file_digest(observe.product)) {
    why = "observe stage '" + observe.name + "' was rerun with other settings since";
    return std::nullopt;
  }
  return read_input(observe);
}

std::vector<double> values_of(const at::Tensor& values) {
  const at::Tensor flat = values.to(at::kDouble).contiguous();
  return std::vector<double>(flat.data_ptr<double>(), flat.data_ptr<double>() + flat.numel());
}

}  // namespace assim::report
