// Out-of-line virtual destructors: they anchor each interface's vtable and
// type_info in libassim_sdk, so that dynamic_cast and exceptions work across
// plugin boundaries.
#include <assim/assim.hpp>

namespace assim {

Error::Error(const std::string& message) : std::runtime_error(message) {}
Error::~Error() = default;

ConfigError::ConfigError(std::string where, std::string key, const std::string& message)
    : Error(where + ": " + (key.empty() ? std::string() : key + ": ") + message),
      where_(std::move(where)),
      key_(std::move(key)) {}
ConfigError::~ConfigError() = default;

DivergenceError::DivergenceError(long step, const std::string& message)
    : Error("diverged at step " + std::to_string(step) + ": " + message), step_(step) {}
DivergenceError::~DivergenceError() = default;

std::string without_backtrace(const std::string& message) {
  std::string out;
  std::size_t start = 0;
  while (start < message.size()) {
    std::size_t end = message.find('\n', start);
    if (end == std::string::npos) end = message.size();
    std::string line = message.substr(start, end - start);
    start = end + 1;
    bool frame = line.rfind("frame #", 0) == 0 || line.rfind("Exception raised from ", 0) == 0 ||
                 line == "<omitting python frames>";
    if (frame || line.empty()) continue;
    out += (out.empty() ? "" : "\n") + line;
  }
  return out;
}

Component::~Component() = default;
Model::~Model() = default;
Trajectory::~Trajectory() = default;
ObservationOperator::~ObservationOperator() = default;
Prior::~Prior() = default;
TrainingData::~TrainingData() = default;

std::shared_ptr<const ObservationOperator> Prior::augmentation() const { return nullptr; }
bool Prior::learned() const { return false; }
std::vector<std::int64_t> Prior::window_shape() const { return {}; }
void Prior::fit(const TrainingData&, const TrainingOptions&) {
  throw Error("this prior is analytic and has nothing to fit; use it without a train stage");
}
void Prior::load(const std::filesystem::path&) {
  throw Error("this prior is analytic and has nothing to load");
}
Sampler::~Sampler() = default;
SamplerNeeds Sampler::needs() const { return {}; }
bool Sampler::learned() const { return false; }
void Sampler::fit(const EstimatorData&, const TrainingOptions&) {
  throw Error("this sampler has nothing to learn; use it without a train stage");
}
void Sampler::load(const std::filesystem::path&) { throw Error("this sampler has nothing to load"); }
TrainingPairs::~TrainingPairs() = default;
Registrar::~Registrar() = default;

const char* to_string(Kind kind) {
  switch (kind) {
    case Kind::Model: return "model";
    case Kind::ObservationOperator: return "observation operator";
    case Kind::Prior: return "prior";
    case Kind::Sampler: return "sampler";
  }
  return "?";
}

std::vector<std::int64_t> StateSpec::shape() const {
  std::vector<std::int64_t> s;
  for (const auto& d : dims) s.push_back(d.size);
  return s;
}

std::vector<std::string> Model::quantities() const { return {}; }

at::Tensor Model::derive(const at::Tensor&, const std::string& quantity) const {
  throw Error("this model provides no derived quantity '" + quantity + "'");
}

bool Model::differentiable() const { return false; }

at::Tensor Model::differentiable_trajectory(const at::Tensor&, std::int64_t, std::int64_t) const {
  throw Error("this model has no differentiable time step");
}

std::vector<std::int64_t> ObservationOperator::output_shape(
    const std::vector<std::int64_t>& state_shape) const {
  return state_shape;
}

bool ObservationOperator::linear() const { return false; }

}  // namespace assim
