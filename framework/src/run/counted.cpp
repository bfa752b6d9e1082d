#include "counted.hpp"

#include <assim/error.hpp>

namespace assim::counted {

namespace {

class CountedTrajectory : public Trajectory {
 public:
  CountedTrajectory(std::unique_ptr<Trajectory> inner, std::int64_t members, std::shared_ptr<Evaluations> count)
      : inner_(std::move(inner)), members_(members), count_(std::move(count)) {}
  void advance(std::int64_t steps) override {
    inner_->advance(steps);
    count_->add_model_steps(members_ * steps);
  }
  at::Tensor state() const override { return inner_->state(); }
  std::int64_t steps_taken() const override { return inner_->steps_taken(); }

 private:
  std::unique_ptr<Trajectory> inner_;
  std::int64_t members_;
  std::shared_ptr<Evaluations> count_;
};

class CountedModel : public Model {
 public:
  CountedModel(std::shared_ptr<const Model> inner, std::shared_ptr<Evaluations> count)
      : inner_(std::move(inner)), count_(std::move(count)) {}
  StateSpec state_spec() const override { return inner_->state_spec(); }
  at::Tensor initial_state(std::int64_t members, std::uint64_t seed) const override {
    return inner_->initial_state(members, seed);
  }
  std::unique_ptr<Trajectory> start(const at::Tensor& states) const override {
    return std::make_unique<CountedTrajectory>(inner_->start(states), states.size(0), count_);
  }
  std::vector<std::string> quantities() const override { return inner_->quantities(); }
  at::Tensor derive(const at::Tensor& states, const std::string& quantity) const override {
    return inner_->derive(states, quantity);
  }
  bool differentiable() const override { return inner_->differentiable(); }
  at::Tensor differentiable_trajectory(const at::Tensor& states, std::int64_t frames,
                                       std::int64_t frame_steps) const override {
    count_->add_model_steps(states.size(0) * (frames - 1) * frame_steps);
    return inner_->differentiable_trajectory(states, frames, frame_steps);
  }

 private:
  std::shared_ptr<const Model> inner_;
  std::shared_ptr<Evaluations> count_;
};

class CountedPrior : public Prior {
 public:
  CountedPrior(std::shared_ptr<const Prior> inner, std::shared_ptr<Evaluations> count)
      : inner_(std::move(inner)), count_(std::move(count)) {}
  at::Tensor denoise(const at::Tensor& z_t, const at::Tensor& t) const override {
    count_->add_network(z_t.size(0));
    return inner_->denoise(z_t, t);
  }
  std::shared_ptr<const ObservationOperator> augmentation() const override { return inner_->augmentation(); }
  std::vector<std::int64_t> window_shape() const override { return inner_->window_shape(); }
  bool learned() const override { return inner_->learned(); }
  // A sampler reads the prior it is handed; fitting and loading are the
  // train and assimilate stages' business, on the prior itself.
  void fit(const TrainingData&, const TrainingOptions&) override {
    throw Error("a sampler asked the prior it samples from to fit: only the train stage fits a prior");
  }
  void load(const std::filesystem::path&) override {
    throw Error("a sampler asked the prior it samples from to load weights: only the host loads a prior");
  }

 private:
  std::shared_ptr<const Prior> inner_;
  std::shared_ptr<Evaluations> count_;
};

}  // namespace

std::shared_ptr<const Model> model(std::shared_ptr<const Model> model, std::shared_ptr<Evaluations> count) {
  return std::make_shared<CountedModel>(std::move(model), std::move(count));
}

std::shared_ptr<const Prior> prior(std::shared_ptr<const Prior> prior, std::shared_ptr<Evaluations> count) {
  return std::make_shared<CountedPrior>(std::move(prior), std::move(count));
}

}  // namespace assim::counted
