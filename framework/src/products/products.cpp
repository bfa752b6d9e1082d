#include "products/products.hpp"
#include "products/schema.hpp"
#include "products/tensor_io.hpp"

#include <assim/digest.hpp>
#include <assim/error.hpp>
#include <assim/framework/observation_design.hpp>

#include <numeric>

namespace assim::products {

using namespace schema;

std::string values_text(const at::Tensor& values) {
  const at::Tensor flat = values.reshape({-1});
  std::string out = "[";
  for (std::int64_t i = 0; i < flat.numel(); ++i) out += (i ? ", " : "") + number_text(flat[i].item<double>());
  return out + "]";
}

void Attributes::setting(const std::string& name, const std::string& value) {
  double n = 0;
  if (is_number(value, n))
    add(name, n);
  else
    add(name, value);
}

void Attributes::write(netcdf::File& file) const {
  for (const auto& [name, value] : text) file.attribute("", name, value);
  for (const auto& [name, value] : numbers) file.attribute("", name, value);
}

std::size_t grid_rank(const StateSpec& spec) {
  std::size_t n = 0;
  for (const auto& d : spec.dims) n += d.spacing > 0 ? 1 : 0;
  return n;
}

std::vector<std::int64_t> grid_of(const StateSpec& spec) {
  std::vector<std::int64_t> grid;
  for (const auto& d : spec.dims)
    if (d.spacing > 0) grid.push_back(d.size);
  return grid;
}

bool has_channel_dim(const StateSpec& spec) { return !spec.dims.empty() && spec.dims[0].spacing <= 0; }

std::int64_t window_frames(const Config& observe, const Config& generate) {
  const auto window = observe.get<std::int64_t>("window");
  return window == 0 ? generate.get<std::int64_t>("frames") : window;
}

StateSpec generated_spec(const Config& generate) {
  StateSpec spec = generate.component<Model>("model")->state_spec();
  const auto factor = generate.get<std::int64_t>("coarsen");
  for (auto& d : spec.dims)
    if (d.spacing > 0) {
      if (d.size % factor != 0)
        generate.fail("coarsen", "factor " + std::to_string(factor) + " does not divide dimension " + d.name +
                                     " of size " + std::to_string(d.size));
      d.size /= factor;
      d.spacing *= factor;
    }
  return spec;
}

Normalisation::Normalisation(at::Tensor scale, const StateSpec& spec)
    : rank_(static_cast<std::int64_t>(spec.dims.size())), channel_dim_(has_channel_dim(spec)) {
  const std::int64_t channels = channel_dim_ ? spec.dims[0].size : 1;
  scale = scale.to(at::kDouble).reshape({-1});
  if (scale.numel() == 1) scale = scale.expand({channels});
  if (scale.numel() != channels)
    throw Error("a scale of " + std::to_string(scale.numel()) + " channels for states of " + std::to_string(channels));
  scale_ = scale.contiguous();
}

at::Tensor Normalisation::view(std::int64_t leading) const {
  std::vector<std::int64_t> shape(static_cast<std::size_t>(leading + rank_), 1);
  if (channel_dim_) shape[static_cast<std::size_t>(leading)] = scale_.numel();
  return scale_.view(shape);
}

at::Tensor Normalisation::normalise(const at::Tensor& states, std::int64_t leading) const {
  return states / view(leading);
}

at::Tensor Normalisation::physical(const at::Tensor& states, std::int64_t leading) const {
  return states * view(leading);
}

namespace {

class NormalisedTrajectory : public Trajectory {
 public:
  NormalisedTrajectory(std::unique_ptr<Trajectory> inner, const Normalisation& normalisation)
      : inner_(std::move(inner)), normalisation_(normalisation) {}
  void advance(std::int64_t steps) override { inner_->advance(steps); }
  at::Tensor state() const override { return normalisation_.normalise(inner_->state(), 1); }
  std::int64_t steps_taken() const override { return inner_->steps_taken(); }

 private:
  std::unique_ptr<Trajectory> inner_;
  Normalisation normalisation_;
};

class NormalisedModel : public Model {
 public:
  NormalisedModel(std::shared_ptr<const Model> model, Normalisation normalisation, StateSpec spec)
      : model_(std::move(model)), normalisation_(std::move(normalisation)), spec_(std::move(spec)) {}
  StateSpec state_spec() const override { return spec_; }
  at::Tensor initial_state(std::int64_t members, std::uint64_t seed) const override {
    return normalisation_.normalise(model_->initial_state(members, seed), 1);
  }
  std::unique_ptr<Trajectory> start(const at::Tensor& states) const override {
    return std::make_unique<NormalisedTrajectory>(model_->start(normalisation_.physical(states, 1).contiguous()),
                                                  normalisation_);
  }
  bool differentiable() const override { return model_->differentiable(); }
  at::Tensor differentiable_trajectory(const at::Tensor& states, std::int64_t frames,
                                       std::int64_t frame_steps) const override {
    return normalisation_.normalise(
        model_->differentiable_trajectory(normalisation_.physical(states, 1), frames, frame_steps), 2);
  }

 private:
  std::shared_ptr<const Model> model_;
  Normalisation normalisation_;
  StateSpec spec_;
};

}  // namespace

std::shared_ptr<const Model> in_units(std::shared_ptr<const Model> model, const Normalisation& normalisation,
                                      const StateSpec& spec) {
  return std::make_shared<NormalisedModel>(std::move(model), normalisation, spec);
}

}  // namespace assim::products
