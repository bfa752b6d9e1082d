#include <assim/error.hpp>
#include <assim/framework/stage.hpp>

namespace assim {

const StageInput& StageInput::input(const std::string& key) const {
  auto it = inputs.find(key);
  if (it == inputs.end()) throw Error("internal: stage '" + name + "' has no input '" + key + "'");
  return *it->second;
}

StageContext::StageContext(
    Config config, std::filesystem::path output, std::map<std::string, std::shared_ptr<const StageInput>> inputs,
    std::function<std::vector<std::pair<std::string, std::string>>(const std::string&)> settings,
    std::filesystem::path experiment_folder, std::filesystem::path resume, Ranks ranks)
    : config_(std::move(config)),
      output_(std::move(output)),
      inputs_(std::move(inputs)),
      settings_(std::move(settings)),
      experiment_folder_(std::move(experiment_folder)),
      resume_(std::move(resume)),
      ranks_(std::move(ranks)) {}

const std::filesystem::path& StageContext::resume() const {
  std::filesystem::create_directories(resume_);
  return resume_;
}

std::vector<const StageInput*> StageContext::inputs(const std::string& key) const {
  std::vector<const StageInput*> out;
  for (std::size_t i = 0;; ++i) {
    auto it = inputs_.find(key + "[" + std::to_string(i) + "]");
    if (it == inputs_.end()) break;
    out.push_back(it->second.get());
  }
  if (out.empty()) throw Error("internal: stage input '" + key + "' is not a list of stage references");
  return out;
}

std::filesystem::path StageContext::resolve(const std::filesystem::path& path) const {
  return path.is_absolute() ? path : experiment_folder_ / path;
}

const StageInput& StageContext::input(const std::string& key) const {
  auto it = inputs_.find(key);
  if (it == inputs_.end()) throw Error("internal: stage input '" + key + "' is not a stage reference");
  return *it->second;
}

std::vector<std::pair<std::string, std::string>> StageContext::settings_of(const std::string& key) const {
  return settings_(key);
}

Stage::~Stage() = default;

bool Stage::spreads() const { return false; }

Stage::Part Stage::cheapest_part() const { return {}; }

void Stage::check(const Config&, const std::map<std::string, Config>&) const {}

std::map<std::string, std::filesystem::path> Stage::files_read(const Config&, const std::filesystem::path&) const {
  return {};
}

std::unique_ptr<Stage> make_generate_stage();
std::unique_ptr<Stage> make_observe_stage();
std::unique_ptr<Stage> make_filter_stage();
std::unique_ptr<Stage> make_train_stage();
std::unique_ptr<Stage> make_assimilate_stage();
std::unique_ptr<Stage> make_evaluate_stage();
std::unique_ptr<Stage> make_report_stage();

const std::map<std::string, std::unique_ptr<Stage>>& stages() {
  static const auto all = [] {
    std::map<std::string, std::unique_ptr<Stage>> m;
    for (auto make : {make_generate_stage, make_observe_stage, make_filter_stage, make_train_stage,
                      make_assimilate_stage, make_evaluate_stage, make_report_stage}) {
      auto stage = make();
      std::string name = stage->name();
      m.emplace(name, std::move(stage));
    }
    return m;
  }();
  return all;
}

}  // namespace assim
