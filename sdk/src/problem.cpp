// The data of the problem types a sampler is handed (sampler.hpp), kept here
// in libassim_sdk: plugins see only the functions, so a new piece added here
// with its functions leaves every built plugin loadable.
#include <assim/error.hpp>
#include <assim/sampler.hpp>
#include <assim/shape.hpp>

#include <algorithm>

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
  at::Tensor observation_places;
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
ASSIM_PIECE(AssimilationProblem, at::Tensor, observation_places)
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

const at::Tensor& forecast_ensemble_of(const AssimilationProblem& problem, std::int64_t members,
                                       const std::string& sampler) {
  const auto fail = [&](const std::string& message) { throw Error(sampler + ": " + message); };
  if (!problem.forecast() || !problem.forecast()->defined())
    fail("needs a forecast ensemble to analyse (the problem has none)");
  const at::Tensor& forecast = *problem.forecast();
  const std::vector<std::int64_t> state_shape = problem.state().shape();
  if (forecast.dim() != static_cast<std::int64_t>(state_shape.size()) + 1 ||
      !std::equal(state_shape.begin(), state_shape.end(), forecast.sizes().begin() + 1))
    fail("the forecast has shape " + shape_text(forecast.sizes()) + ", expected (members, " +
         shape_text(state_shape).substr(1));
  if (forecast.scalar_type() != at::kDouble)
    fail(std::string("the forecast must be float64, got ") + c10::toString(forecast.scalar_type()));
  if (forecast.size(0) != members)
    fail("asked for " + std::to_string(members) + " members, but the forecast has " +
         std::to_string(forecast.size(0)) + "; an ensemble analysis returns as many members as it is given");
  if (members < 2) fail("an ensemble needs at least 2 members, got " + std::to_string(members));
  if (!(problem.observation_sigma() > 0))
    fail("the observation noise standard deviation must be positive, got " +
         std::to_string(problem.observation_sigma()));
  if (!problem.observation_operator()) fail("needs an observation operator (the problem has none)");
  if (!problem.observations().defined() || problem.observations().dim() < 1 || problem.observations().size(0) < 1)
    fail("needs observations of at least one frame, shape (frames, observation dims...)");
  if (!problem.mask().defined() || !problem.mask().sizes().equals(problem.observations().sizes()))
    fail("the mask must have the observations' shape " + shape_text(problem.observations().sizes()));
  return forecast;
}

}  // namespace assim
