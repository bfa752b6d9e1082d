#include <assim/testing/contracts.hpp>

#include <assim/shape.hpp>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/grad_mode.h>
#include <torch/csrc/autograd/autograd.h>

#include <cmath>
#include <exception>
#include <functional>
#include <thread>
#include <sstream>

namespace assim::testing {

namespace {

std::vector<std::int64_t> with_leading(std::vector<std::int64_t> leading, const std::vector<std::int64_t>& rest) {
  leading.insert(leading.end(), rest.begin(), rest.end());
  return leading;
}

at::Tensor normal(const std::vector<std::int64_t>& shape, std::uint64_t seed, at::ScalarType dtype = at::kDouble) {
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  return at::randn(shape, generator, at::TensorOptions().dtype(dtype));
}

// |a - b| <= tolerance * (1 + max|b|), elementwise.
bool close(const at::Tensor& a, const at::Tensor& b, double tolerance) {
  if (!a.sizes().equals(b.sizes())) return false;
  const double size = 1 + b.abs().max().item<double>();
  return (a - b).abs().max().item<double>() <= tolerance * size;
}

std::string number(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

// Runs `f`, recording an exception as a failure named by `what`.
template <class F>
bool runs(Failures& f, const std::string& what, F&& body) {
  try {
    body();
    return true;
  } catch (const std::exception& e) {
    f.add(what + " threw: " + e.what());
  } catch (...) {
    f.add(what + " threw something that is not a std::exception");
  }
  return false;
}

// Two calls at once, as two workers make them (assim/workers.hpp): each must
// give, bit for bit, what a call alone gave.
void at_once(Failures& f, const std::string& what, const std::function<at::Tensor()>& call, const at::Tensor& alone) {
  at::Tensor there, here;
  Failures elsewhere;
  std::thread other([&] { runs(elsewhere, what + " on a second worker", [&] { there = call(); }); });
  const bool ran = runs(f, what + " on two workers at once", [&] { here = call(); });
  other.join();
  for (const auto& failure : elsewhere.list) f.add(failure);
  if (!ran || !elsewhere.empty()) return;
  if (!at::equal(here, alone) || !at::equal(there, alone))
    f.add(what + " called from two workers at once differs from a call alone: the component shares state between "
                 "calls (a cache, a counter, a generator) that concurrent calls race on");
}

// A differentiable model: its torch trajectory is the stepper's to 1e-12
// relative at every frame, and autograd's derivative along a random
// direction is a central finite difference's.
void check_differentiable(Failures& f, const Model& model, const at::Tensor& states, std::int64_t steps) {
  const std::int64_t frames = 3;
  runs(f, "differentiable_trajectory", [&] {
    const at::Tensor frames_of = model.differentiable_trajectory(states, frames, steps);
    const std::vector<std::int64_t> expected = with_leading({states.size(0), frames}, model.state_spec().shape());
    if (frames_of.sizes().vec() != expected) {
      f.add("differentiable_trajectory(states, 3, steps) has shape " + shape_text(frames_of.sizes().vec()) +
            ", not (members, frames, dims...) " + shape_text(expected));
      return;
    }
    if (frames_of.scalar_type() != at::kDouble) f.add("differentiable_trajectory is not float64");
    auto trajectory = model.start(states);
    for (std::int64_t k = 0; k < frames; ++k) {
      if (k > 0) trajectory->advance(steps);
      if (!close(frames_of.select(1, k), trajectory->state(), 1e-12)) {
        f.add("differentiable_trajectory frame " + std::to_string(k) + " differs from start/advance by " +
              number((frames_of.select(1, k) - trajectory->state()).abs().max().item<double>()));
        break;
      }
    }
    const at::Tensor weight = normal(frames_of.sizes().vec(), 3);
    const at::Tensor direction = normal(states.sizes().vec(), 4);
    auto cost = [&](const at::Tensor& x) { return (weight * model.differentiable_trajectory(x, frames, steps)).sum(); };
    at::Tensor x = states.clone().requires_grad_(true);
    const at::Tensor gradient = torch::autograd::grad({cost(x)}, {x})[0];
    const double analytic = (gradient * direction).sum().item<double>();
    at::NoGradGuard no_grad;
    // A step relative to the states' own size: QG's PV is about 1e-6 s-1,
    // where a step of 1e-6 would leave the linear regime.
    const double size = states.abs().max().item<double>();
    const double h = 1e-6 * (size > 0 ? size : 1.0);
    const double numeric = (cost(states + h * direction) - cost(states - h * direction)).item<double>() / (2 * h);
    if (!(std::abs(analytic - numeric) <= 1e-5 * (std::abs(numeric) + 1e-8)))
      f.add("the adjoint of differentiable_trajectory along a random direction is " + number(analytic) +
            ", a central difference gives " + number(numeric));
  });
}

}  // namespace

std::string Failures::text() const {
  std::string out;
  for (const auto& line : list) out += line + "\n";
  return out;
}

Failures check_model(const Model& model, std::int64_t steps) {
  Failures f;
  StateSpec spec;
  if (!runs(f, "state_spec()", [&] { spec = model.state_spec(); })) return f;
  if (spec.variable.empty()) f.add("state_spec: the variable has no name");
  if (spec.units.empty()) f.add("state_spec: no units (\"1\" for a nondimensional state)");
  if (spec.dims.empty()) f.add("state_spec: no dims");
  for (const auto& d : spec.dims) {
    if (d.name.empty()) f.add("state_spec: a dim has no name");
    if (d.size < 1) f.add("state_spec: dim '" + d.name + "' has size " + std::to_string(d.size));
    if (d.spacing < 0) f.add("state_spec: dim '" + d.name + "' has a negative spacing");
    if (d.spacing > 0 && d.units.empty()) f.add("state_spec: grid dim '" + d.name + "' has a spacing but no units");
  }
  if (!(spec.time_step > 0)) f.add("state_spec: time_step " + number(spec.time_step) + " is not positive");
  if (spec.time_units.empty()) f.add("state_spec: no time_units (\"s\", or \"1\" for model time)");
  if (!f.empty()) return f;

  const std::vector<std::int64_t> shape = with_leading({3}, spec.shape());
  at::Tensor x, again, other;
  if (!runs(f, "initial_state(3, 7)", [&] {
        x = model.initial_state(3, 7);
        again = model.initial_state(3, 7);
        other = model.initial_state(3, 8);
      }))
    return f;
  if (x.sizes().vec() != shape) {
    f.add("initial_state(3, seed) has shape " + shape_text(x.sizes().vec()) + ", not (members, dims...) " +
          shape_text(shape));
    return f;
  }
  if (x.scalar_type() != at::kDouble) f.add("initial_state is not float64");
  if (!at::isfinite(x).all().item<bool>()) f.add("initial_state is not finite");
  if (!at::equal(x, again)) f.add("initial_state differs between two calls with the same seed");
  if (at::equal(x, other)) f.add("initial_state is the same for seeds 7 and 8");
  if (x.size(0) > 1 && at::equal(x[0], x[1])) f.add("initial_state draws the same state for every member");

  const at::Tensor given = x.clone();
  runs(f, "start / advance", [&] {
    auto trajectory = model.start(x);
    if (trajectory->steps_taken() != 0) f.add("a new trajectory has taken " + std::to_string(trajectory->steps_taken()) + " steps");
    if (!close(trajectory->state(), given, 1e-15)) f.add("start(states).state() is not the states it was given");
    trajectory->advance(steps);
    if (trajectory->steps_taken() != steps)
      f.add("after advance(" + std::to_string(steps) + ") steps_taken() is " + std::to_string(trajectory->steps_taken()));
    const at::Tensor after = trajectory->state();
    if (after.sizes().vec() != shape) f.add("advance changed the shape to " + shape_text(after.sizes().vec()));
    if (after.scalar_type() != at::kDouble) f.add("state() after advance is not float64");
    if (!at::isfinite(after).all().item<bool>()) f.add("the state is not finite after " + std::to_string(steps) + " steps");
    if (!at::equal(x, given)) f.add("advance changed the tensor start() was given (the trajectory must own a copy)");
    if (close(after, given, 0)) f.add("advance(" + std::to_string(steps) + ") left the state unchanged");
    // Members do not interact: a batch equals each member alone.
    for (std::int64_t m = 0; m < x.size(0); ++m) {
      auto alone = model.start(given.slice(0, m, m + 1).contiguous());
      alone->advance(steps);
      if (!close(alone->state(), after.slice(0, m, m + 1), 1e-10)) {
        f.add("member " + std::to_string(m) + " advanced alone differs from the same member advanced in a batch");
        break;
      }
    }
    at_once(f, "start / advance", [&] {
      auto again = model.start(given);
      again->advance(steps);
      return again->state();
    }, after);
  });
  if (model.differentiable()) check_differentiable(f, model, given, steps);
  return f;
}

Failures check_observation_operator(const ObservationOperator& op, const std::vector<std::int64_t>& state_shape,
                                    double scale, std::uint64_t seed) {
  Failures f;
  std::vector<std::int64_t> out;
  if (!runs(f, "output_shape" + shape_text(state_shape), [&] { out = op.output_shape(state_shape); })) return f;
  const at::Tensor x = scale * normal(with_leading({2, 3}, state_shape), seed);
  const at::Tensor given = x.clone();
  at::Tensor y, single;
  if (!runs(f, "apply on (2, 3, state...)", [&] { y = op.apply(x); })) return f;
  if (y.sizes().vec() != with_leading({2, 3}, out)) {
    f.add("apply on (2, 3, state...) returned " + shape_text(y.sizes().vec()) + ", output_shape promised (2, 3, " +
          shape_text(out).substr(1));
    return f;
  }
  if (!at::equal(x, given)) f.add("apply changed its input");
  if (!at::isfinite(y).all().item<bool>()) f.add("apply returned non-finite values on N(0, " + number(scale) + "^2) states");
  if (runs(f, "apply on (state...) without batch dims", [&] { single = op.apply(x[0][0]); })) {
    if (single.sizes().vec() != out) f.add("apply on one state returned " + shape_text(single.sizes().vec()) + ", not " + shape_text(out));
    else if (!close(single, y[0][0], 1e-12)) f.add("apply on one state differs from the same state inside a batch");
  }

  // Autograd against a central difference along a random direction.
  const at::Tensor weights = normal(y.sizes().vec(), seed + 1), direction = normal(x.sizes().vec(), seed + 2);
  runs(f, "autograd through apply", [&] {
    const at::AutoGradMode grad_mode(true);
    const at::Tensor leaf = x.detach().clone().requires_grad_(true);
    const at::Tensor objective = (op.apply(leaf) * weights).sum();
    if (!objective.requires_grad()) {
      f.add("apply is not differentiable by autograd (its output does not require grad)");
      return;
    }
    const at::Tensor gradient = torch::autograd::grad({objective}, {leaf})[0];
    if (!at::isfinite(gradient).all().item<bool>()) {
      f.add("the gradient of apply is not finite");
      return;
    }
    const at::NoGradGuard no_grad;
    const double h = 1e-6 * scale;
    const double numeric = ((op.apply(x + h * direction) * weights).sum().item<double>() -
                            (op.apply(x - h * direction) * weights).sum().item<double>()) /
                           (2 * h);
    const double analytic = (gradient * direction).sum().item<double>();
    if (std::abs(numeric - analytic) > 1e-5 * (1 + std::abs(numeric)))
      f.add("autograd's directional derivative " + number(analytic) + " differs from the finite difference " +
            number(numeric));
  });

  runs(f, "linearity test", [&] {
    const at::NoGradGuard no_grad;
    const at::Tensor x2 = scale * normal(x.sizes().vec(), seed + 3);
    const double a = 0.7, b = -1.3;
    const bool is_linear = close(op.apply(a * x + b * x2), a * op.apply(x) + b * op.apply(x2), 1e-10);
    if (op.linear() && !is_linear) f.add("linear() is true, but apply(a x + b x') != a apply(x) + b apply(x')");
    if (!op.linear() && is_linear) f.add("linear() is false, but apply passes the numerical linearity test");
  });
  return f;
}

Failures check_prior(const Prior& prior, const std::vector<std::int64_t>& window_shape) {
  Failures f;
  const at::NoGradGuard no_grad;
  const at::Tensor z = normal(with_leading({3}, window_shape), 11, at::kFloat);
  const at::Tensor t = at::tensor({0.2f, 0.5f, 0.9f});
  at::Tensor eps, again, first;
  if (!runs(f, "denoise on (3, window...)", [&] {
        eps = prior.denoise(z, t);
        again = prior.denoise(z, t);
        first = prior.denoise(z.slice(0, 0, 1).contiguous(), t.slice(0, 0, 1).contiguous());
      }))
    return f;
  if (!eps.sizes().equals(z.sizes())) {
    f.add("denoise returned " + shape_text(eps.sizes().vec()) + " for z of " + shape_text(z.sizes().vec()));
    return f;
  }
  if (eps.scalar_type() != z.scalar_type()) f.add("denoise changed the dtype of z");
  if (!at::isfinite(eps).all().item<bool>()) f.add("denoise returned non-finite values");
  if (!at::equal(eps, again)) f.add("denoise differs between two calls on the same input");
  if (!close(first, eps.slice(0, 0, 1), 1e-4)) f.add("a member's eps depends on the other members of the batch");
  at_once(f, "denoise", [&] {
    const at::NoGradGuard no_grad_here;  // grad mode is per thread
    return prior.denoise(z, t);
  }, eps);
  return f;
}

namespace {

// Two halves of the grid analysed apart give, each at its own points, what
// the analysis of the whole grid (`whole`) gives there, bit for bit: the host
// splits one analysis over ranks so and puts the halves together.
void check_halves(Failures& f, const Sampler& sampler, const AssimilationProblem& problem, std::int64_t members,
                  const at::Tensor& whole) {
  std::int64_t points = 1;
  bool trailing = true, seen_spatial = false;
  for (const auto& d : problem.state().dims) {
    if (d.spacing > 0) points *= d.size, seen_spatial = true;
    else if (seen_spatial) trailing = false;
  }
  if (!seen_spatial || !trailing) {
    f.add("needs() declares a local analysis, but the state's spatial dims are not its trailing dims");
    return;
  }
  const at::Tensor first = at::arange(points) < points / 2;
  at::Tensor halves[2];
  if (!runs(f, "sample on half of the grid points", [&] {
        AssimilationProblem part = problem;
        halves[0] = sampler.sample(part.set_analysed_points(first), members, 5);
        halves[1] = sampler.sample(part.set_analysed_points(first.logical_not()), members, 5);
      }))
    return;
  const at::Tensor all = whole.reshape({-1, points});
  const at::Tensor joined = at::where(first, halves[0].reshape({-1, points}), halves[1].reshape({-1, points}));
  if (!at::equal(joined, all))
    f.add("needs() declares a local analysis, but two halves of the grid analysed apart differ from the "
          "analysis of the whole (largest difference " +
          std::to_string((joined - all).abs().max().item<double>()) + ")");
}

}  // namespace

Failures check_sampler(const Sampler& sampler, const AssimilationProblem& problem, std::int64_t members) {
  Failures f;
  const SamplerNeeds needs = sampler.needs();
  if (needs.prior && !problem.prior()) f.add("needs() declares a prior, but the problem given has none");
  if (needs.forecast && !problem.forecast()) f.add("needs() declares a forecast, but the problem given has none");
  if (needs.differentiable_model && !(problem.model() && problem.model()->differentiable()))
    f.add("needs() declares a differentiable model, but the problem given has none");
  if (needs.climatology && !problem.climatology()) f.add("needs() declares a climatology, but the problem given has none");
  if (members < needs.min_members) f.add("fewer members than needs().min_members");
  if (needs.deterministic && members != 1) f.add("needs() declares a deterministic sampler: check it with 1 member");
  if (!f.empty()) return f;
  at::Tensor a, b;
  if (!runs(f, "sample", [&] {
        a = sampler.sample(problem, members, 5);
        b = sampler.sample(problem, members, 5);
      }))
    return f;
  const std::vector<std::int64_t> shape = with_leading({members, problem.observations().size(0)}, problem.state().shape());
  if (a.sizes().vec() != shape) {
    f.add("sample returned " + shape_text(a.sizes().vec()) + ", not (members, L, state...) " + shape_text(shape));
    return f;
  }
  if (!at::isfinite(a).all().item<bool>()) f.add("sample returned non-finite values");
  if (!at::equal(a, b)) f.add("sample differs between two calls with the same seed");
  at_once(f, "sample", [&] { return sampler.sample(problem, members, 5); }, a);
  auto refused = [&](AssimilationProblem lacking, const std::string& what) {
    try {
      sampler.sample(lacking, members, 5);
      f.add("sample ran on a problem without " + what + ", which needs() declares");
    } catch (const std::exception&) {
    }
  };
  if (needs.deterministic) {
    runs(f, "sample with another seed", [&] {
      if (!at::equal(a, sampler.sample(problem, members, 6)))
        f.add("needs() declares a deterministic sampler, but its estimate changes with the seed");
    });
    try {
      sampler.sample(problem, 2, 5);
      f.add("a deterministic sampler gave 2 members: copies whose zero spread claims a certainty it lacks");
    } catch (const std::exception&) {
    }
  }
  if (needs.local) check_halves(f, sampler, problem, members, a);
  if (needs.prior) refused(AssimilationProblem(problem).set_prior(nullptr), "a prior");
  if (needs.forecast) refused(AssimilationProblem(problem).set_forecast(std::nullopt), "a forecast");
  if (needs.differentiable_model) refused(AssimilationProblem(problem).set_model(nullptr), "a model");
  if (needs.climatology) refused(AssimilationProblem(problem).set_climatology(std::nullopt), "a climatology");
  return f;
}

}  // namespace assim::testing
