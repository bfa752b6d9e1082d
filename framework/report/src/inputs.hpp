// The stages a report reads, as the runner describes them: result folder,
// result file and the record the runner wrote beside them (shown as text).
#pragma once

#include <assim/framework/stage.hpp>

#include <ATen/ATen.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace assim::report {

struct Input {
  std::string name;  // the stage's name in the experiment
  std::string kind;  // its `run:` (assimilate, filter, evaluate, observe)
  std::filesystem::path folder;
  std::filesystem::path product;  // its result file
  std::string shown_product;      // the result file relative to the run folder, as the page names it
  std::string record_text;        // its stage.yaml without the machine's paths, for the provenance section
  const StageInput* stage = nullptr;
};

Input read_input(const StageInput& stage);

// The observe stage an assimilate stage read, when its result is still the
// one the assimilate stage used (the digest it recorded); otherwise nothing,
// with the reason in `why`.
std::optional<Input> observations_of(const Input& assimilate, std::string& why);

// A tensor's values, in order, as float64: what the pictures and tables read.
std::vector<double> values_of(const at::Tensor& values);

}  // namespace assim::report
