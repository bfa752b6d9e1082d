// Observation operators of the score-based assimilation papers (see
// ../shared/reference/score-based-da.md, "Observation operators"): identity,
// arctan(a x) ("easy") and A sin(f x) ("hard") element-wise on any state;
// vorticity-to-velocity through a model's own inversion; a stack of
// several operators observed at once (setting III, multi-modal); and the
// state interpolated at places between grid points, then observed.
#pragma once

#include <assim/assim.hpp>

#include <ATen/ATen.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

namespace assim::observations {

using assim::Config;
using assim::Parameters;

class Identity : public assim::ObservationOperator {
 public:
  static Parameters parameters() { return {}; }
  explicit Identity(const Config&) {}
  at::Tensor apply(const at::Tensor& x) const override { return x; }
  bool linear() const override { return true; }
};

class Arctan : public assim::ObservationOperator {
 public:
  struct Options {
    double scale = 3.0;
  };
  static assim::Fields<Options> fields() {
    assim::Fields<Options> p;
    p.real("scale", &Options::scale, "1 / state units", "a in arctan(a x)").above(0);
    return p;
  }
  static Parameters parameters() { return fields().parameters(); }
  explicit Arctan(const Config& c) : o_(fields().read(c)) {}
  at::Tensor apply(const at::Tensor& x) const override { return at::atan(o_.scale * x); }

 private:
  Options o_;
};

class Sine : public assim::ObservationOperator {
 public:
  struct Options {
    double amplitude = 1.5, frequency = 3.0;
  };
  static assim::Fields<Options> fields() {
    assim::Fields<Options> p;
    p.real("amplitude", &Options::amplitude, "observation units", "A in A sin(f x)").above(0);
    p.real("frequency", &Options::frequency, "1 / state units", "f in A sin(f x)").above(0);
    return p;
  }
  static Parameters parameters() { return fields().parameters(); }
  explicit Sine(const Config& c) : o_(fields().read(c)) {}
  at::Tensor apply(const at::Tensor& x) const override { return o_.amplitude * at::sin(o_.frequency * x); }

 private:
  Options o_;
};

// PV -> streamfunction -> [u1, u2, v1, v2] / scales. The inversion is the
// model's (Model::derive(states, "velocity")): one inversion in the code base.
class Velocity : public assim::ObservationOperator {
 public:
  struct Options {
    bool physical = true;
    std::vector<double> state_scale{9.7e-6, 1.19e-6}, scales;
  };
  // The model is a component, read from the Config; the rest fill Options.
  static assim::Fields<Options> fields() {
    assim::Fields<Options> p;
    p.unbound().component("model", assim::Kind::Model, "the model whose inversion turns PV into velocities (model.qg)");
    p.choice("inversion", &Options::physical, {{"physical", true}, {"normalised", false}},
             "physical: multiply the (normalised) input by state_scale before inverting; normalised: invert "
             "the input as it is (the SOAD reference code's behaviour)");
    p.reals("state_scale", &Options::state_scale, "s-1",
            "per-layer std the input was divided by (the papers' 256 x 256 values; use your data's q_std)")
        .above(0);
    p.reals("scales", &Options::scales, "m s-1 (physical) or 1 (normalised)",
            "divisors of [u1, u2, v1, v2]; empty: [0.042, 0.007, 0.042, 0.0072] m s-1 (physical: the velocity std "
            "of the CPU-scale truth, experiments/qg_truth_cpu.yaml coarsened to 32 x 32), [1.2e4, 1.6e4, 1.1e4, "
            "1.6e4] (normalised: the reference's values, which give unit std there too)")
        .above(0);
    return p;
  }
  static Parameters parameters() { return fields().parameters(); }
  explicit Velocity(const Config& c) : o_(fields().read(c)), model_(c.component<assim::Model>("model")) {
    auto quantities = model_->quantities();
    if (std::find(quantities.begin(), quantities.end(), "velocity") == quantities.end())
      c.fail("model", "model '" + c.reference("model") + "' does not derive velocities");
    if (o_.scales.empty())
      o_.scales = o_.physical ? std::vector<double>{0.042, 0.007, 0.042, 0.0072}
                          : std::vector<double>{1.2e4, 1.6e4, 1.1e4, 1.6e4};
    if (o_.scales.size() != 4) c.fail("scales", "needs 4 values, for u1, u2, v1, v2");
    state_shape_ = model_->state_spec().shape();
    if (state_shape_.empty() || static_cast<std::size_t>(state_shape_[0]) != o_.state_scale.size())
      c.fail("state_scale", "needs one value per layer of the model's state " + shape_text(state_shape_));
  }

  at::Tensor apply(const at::Tensor& x) const override {
    const auto options = x.options();
    std::vector<std::int64_t> per_layer(state_shape_.size(), 1);
    per_layer[0] = state_shape_[0];
    at::Tensor q = o_.physical ? x * at::tensor(at::ArrayRef<double>(o_.state_scale), options).view(per_layer) : x;
    at::Tensor velocity = model_->derive(q, "velocity");
    std::vector<std::int64_t> per_channel(state_shape_.size(), 1);
    per_channel[0] = 4;
    return velocity / at::tensor(at::ArrayRef<double>(o_.scales), options).view(per_channel);
  }
  std::vector<std::int64_t> output_shape(const std::vector<std::int64_t>& state_shape) const override {
    if (state_shape != state_shape_)
      throw assim::Error("obs.velocity inverts on its model's grid " + shape_text(state_shape_) +
                         ", but the states have shape " + shape_text(state_shape) +
                         " (coarsened data need a model component on the coarse grid)");
    auto out = state_shape;
    out[0] = 4;
    return out;
  }
  bool linear() const override { return true; }

 private:
  Options o_;
  std::shared_ptr<assim::Model> model_;
  std::vector<std::int64_t> state_shape_;
};

// Several operators observed at once: their outputs concatenated along the
// channel dim (counted from the end: -3 for (channel, y, x) states).
class Stack : public assim::ObservationOperator {
 public:
  struct Options {
    std::int64_t channel_dim = -3;
  };
  // The operators are components, read from the Config; channel_dim fills Options.
  static assim::Fields<Options> fields() {
    assim::Fields<Options> p;
    p.unbound().components("operators", assim::Kind::ObservationOperator, "the operators, in channel order");
    p.integer("channel_dim", &Options::channel_dim, "", "dim along which outputs are concatenated, counted from the end")
        .below(0);
    return p;
  }
  static Parameters parameters() { return fields().parameters(); }
  explicit Stack(const Config& c)
      : operators_(c.components<assim::ObservationOperator>("operators")), dim_(fields().read(c).channel_dim) {}

  at::Tensor apply(const at::Tensor& x) const override {
    std::vector<at::Tensor> parts;
    for (const auto& op : operators_) parts.push_back(op->apply(x));
    return at::cat(parts, dim_);
  }
  std::vector<std::int64_t> output_shape(const std::vector<std::int64_t>& state_shape) const override {
    const auto rank = static_cast<std::int64_t>(state_shape.size());
    if (-dim_ > rank)
      throw assim::Error("obs.stack: channel_dim " + std::to_string(dim_) + " does not exist in states of shape " +
                         shape_text(state_shape));
    std::vector<std::int64_t> out;
    for (std::size_t i = 0; i < operators_.size(); ++i) {
      auto shape = operators_[i]->output_shape(state_shape);
      if (out.empty()) {
        out = shape;
        continue;
      }
      auto axis = static_cast<std::size_t>(rank + dim_);
      auto rest = shape;
      rest[axis] = out[axis];
      if (rest != out)
        throw assim::Error("obs.stack: operator " + std::to_string(i) + " gives " + shape_text(shape) +
                           ", which does not stack with " + shape_text(out) + " along channel_dim");
      out[axis] += shape[axis];
    }
    return out;
  }
  bool linear() const override {
    return std::all_of(operators_.begin(), operators_.end(), [](const auto& op) { return op->linear(); });
  }

 private:
  std::vector<std::shared_ptr<assim::ObservationOperator>> operators_;
  std::int64_t dim_;
};

// The state at places between grid points: linear along the last dim (a
// ring such as Lorenz-96's) or bilinear on the last two (QG's plane), both
// periodic, then an element-wise operator of the interpolated values
// (arctan of an interpolated value). Places are in grid units: cell i's
// centre is at i, so a coordinate c of a dim of spacing h is at c / h - 0.5.
// The interpolation is the SDK toolkit's (assim/interpolation.hpp), the one
// the observe stage applies to a file's places between grid points.
class Interpolate : public assim::ObservationOperator {
 public:
  struct Options {
    std::vector<double> points;
    std::int64_t dims = 1;
  };
  static assim::Fields<Options> fields() {
    assim::Fields<Options> p;
    p.reals("points", &Options::points, "grid points",
            "the places, in grid units (cell i's centre at i; periodic: any real wraps): one number each with dims "
            "1, a (y, x) pair each with dims 2");
    p.integer("dims", &Options::dims, "", "trailing state dims interpolated: 1 linear, 2 bilinear").at_least(1).at_most(2);
    p.unbound().component("then", assim::Kind::ObservationOperator,
                          "an element-wise operator applied to the interpolated values; absent: none").optional();
    return p;
  }
  static Parameters parameters() { return fields().parameters(); }
  explicit Interpolate(const Config& c) : o_(fields().read(c)) {
    if (o_.points.empty() || o_.points.size() % static_cast<std::size_t>(o_.dims) != 0)
      c.fail("points", "needs " + std::string(o_.dims == 1 ? "one number" : "a (y, x) pair") + " per place, got " +
                           std::to_string(o_.points.size()) + " numbers");
    if (c.has("then")) then_ = c.component<assim::ObservationOperator>("then");
  }

  at::Tensor apply(const at::Tensor& x) const override {
    const at::Tensor y =
        interpolate_at(x, at::tensor(at::ArrayRef<double>(o_.points), x.options()).view({-1, o_.dims}));
    return then_ ? then_->apply(y) : y;
  }
  std::vector<std::int64_t> output_shape(const std::vector<std::int64_t>& state_shape) const override {
    if (static_cast<std::int64_t>(state_shape.size()) < o_.dims)
      throw assim::Error("obs.interpolate: states of shape " + shape_text(state_shape) + " have fewer than " +
                         std::to_string(o_.dims) + " dims to interpolate");
    std::vector<std::int64_t> out(state_shape.begin(), state_shape.end() - o_.dims);
    out.push_back(static_cast<std::int64_t>(o_.points.size()) / o_.dims);
    return then_ ? then_->output_shape(out) : out;
  }
  bool linear() const override { return !then_ || then_->linear(); }

 private:
  Options o_;
  std::shared_ptr<assim::ObservationOperator> then_;
};

}  // namespace assim::observations

