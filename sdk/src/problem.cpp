// The data of the problem types a sampler is handed (sampler.hpp), kept here
// in libassim_sdk: plugins see only the functions, so a new piece added here
// with its functions leaves every built plugin loadable.
#include <assim/sampler.hpp>

namespace assim {

struct Evaluations::Impl {
  std::int64_t model_steps = 0, network = 0;
  std::vector<double> cost, gradient_norm;
};

Evaluations::Evaluations() : impl_(std::make_unique<Impl>()) {}
Evaluations::~Evaluations() = default;
std::int64_t Evaluations::model_steps() const { return impl_->model_steps; }
void Evaluations::add_model_steps(std::int64_t steps) { impl_->model_steps += steps; }
std::int64_t Evaluations::network() const { return impl_->network; }
void Evaluations::add_network(std::int64_t evaluations) { impl_->network += evaluations; }
const std::vector<double>& Evaluations::cost() const { return impl_->cost; }
const std::vector<double>& Evaluations::gradient_norm() const { return impl_->gradient_norm; }
void Evaluations::set_minimiser_trace(std::vector<double> cost, std::vector<double> gradient_norm) {
  impl_->cost = std::move(cost);
  impl_->gradient_norm = std::move(gradient_norm);
}

struct AssimilationProblem::Impl {
  StateSpec state;
  std::shared_ptr<const ObservationOperator> observation_operator;
  at::Tensor observations, mask;
  double observation_sigma = 0;
  NoiseLaw observation_law = NoiseLaw::Gaussian;
  at::Tensor observation_sigmas;
  std::optional<at::Tensor> background;
  double background_sigma = 0;
  std::optional<at::Tensor> forecast;
  std::shared_ptr<const Prior> prior;
  std::shared_ptr<const Model> model;
  std::int64_t frame_steps = 0;
  std::optional<at::Tensor> climatology;
  std::shared_ptr<Evaluations> evaluations;
  at::Tensor analysed_points;
};

AssimilationProblem::AssimilationProblem() : impl_(std::make_unique<Impl>()) {}
AssimilationProblem::~AssimilationProblem() = default;
AssimilationProblem::AssimilationProblem(const AssimilationProblem& other)
    : impl_(std::make_unique<Impl>(*other.impl_)) {}
AssimilationProblem& AssimilationProblem::operator=(const AssimilationProblem& other) {
  *impl_ = *other.impl_;
  return *this;
}

// One getter and one setter per piece of OWNER's data; the setter returns
// the owner so that the host's settings chain. Numbers are returned by value.
#define ASSIM_PIECE(OWNER, TYPE, NAME)                       \
  const TYPE& OWNER::NAME() const { return impl_->NAME; }   \
  OWNER& OWNER::set_##NAME(TYPE value) {                     \
    impl_->NAME = std::move(value);                          \
    return *this;                                            \
  }
#define ASSIM_NUMBER(OWNER, TYPE, NAME)                      \
  TYPE OWNER::NAME() const { return impl_->NAME; }          \
  OWNER& OWNER::set_##NAME(TYPE value) {                     \
    impl_->NAME = value;                                     \
    return *this;                                            \
  }

ASSIM_PIECE(AssimilationProblem, StateSpec, state)
ASSIM_PIECE(AssimilationProblem, std::shared_ptr<const ObservationOperator>, observation_operator)
ASSIM_PIECE(AssimilationProblem, at::Tensor, observations)
ASSIM_PIECE(AssimilationProblem, at::Tensor, mask)
ASSIM_NUMBER(AssimilationProblem, double, observation_sigma)
ASSIM_NUMBER(AssimilationProblem, NoiseLaw, observation_law)
ASSIM_PIECE(AssimilationProblem, at::Tensor, observation_sigmas)
ASSIM_PIECE(AssimilationProblem, std::optional<at::Tensor>, background)
ASSIM_NUMBER(AssimilationProblem, double, background_sigma)
ASSIM_PIECE(AssimilationProblem, std::optional<at::Tensor>, forecast)
ASSIM_PIECE(AssimilationProblem, std::shared_ptr<const Prior>, prior)
ASSIM_PIECE(AssimilationProblem, std::shared_ptr<const Model>, model)
ASSIM_NUMBER(AssimilationProblem, std::int64_t, frame_steps)
ASSIM_PIECE(AssimilationProblem, std::optional<at::Tensor>, climatology)
ASSIM_PIECE(AssimilationProblem, std::shared_ptr<Evaluations>, evaluations)
ASSIM_PIECE(AssimilationProblem, at::Tensor, analysed_points)

struct EstimatorData::Impl {
  StateSpec state;
  std::shared_ptr<const ObservationOperator> observation_operator;
  Draw draw;
  std::int64_t pairs_per_epoch = 0;
  TrainingPairs validation;
};

EstimatorData::EstimatorData() : impl_(std::make_unique<Impl>()) {}
EstimatorData::~EstimatorData() = default;
EstimatorData::EstimatorData(const EstimatorData& other) : impl_(std::make_unique<Impl>(*other.impl_)) {}
EstimatorData& EstimatorData::operator=(const EstimatorData& other) {
  *impl_ = *other.impl_;
  return *this;
}
ASSIM_PIECE(EstimatorData, StateSpec, state)
ASSIM_PIECE(EstimatorData, std::shared_ptr<const ObservationOperator>, observation_operator)
ASSIM_PIECE(EstimatorData, EstimatorData::Draw, draw)
ASSIM_NUMBER(EstimatorData, std::int64_t, pairs_per_epoch)
ASSIM_PIECE(EstimatorData, TrainingPairs, validation)

#undef ASSIM_PIECE
#undef ASSIM_NUMBER

}  // namespace assim
