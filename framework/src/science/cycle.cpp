#include "cycle.hpp"

#include <assim/error.hpp>
#include <assim/workers.hpp>

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <mutex>

namespace assim::cycle {

void check_differentiable(const Config& config, const SamplerNeeds& needs) {
  if (needs.differentiable_model && !config.component<Model>("model")->differentiable())
    config.fail("model", "sampler '" + config.reference("sampler") + "' differentiates through the model, and model '" +
                             config.reference("model") + "' has no differentiable time step");
}

std::uint64_t analysis_seed(std::uint64_t seed, std::int64_t index) {
  return seed * 1000003ull + static_cast<std::uint64_t>(index);
}

namespace {
double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// The blocks of `count` things (members, grid points) split among the team:
// this rank's share, cut again among its workers when it is not itself on a
// worker; `work(first, last)` computes one block, and every rank of the team
// gets them all joined along `dim`, in order. Members step and grid points
// are analysed independently, so the joined result is the same bit for bit
// however it was cut. A block that diverges stops the team alike: every rank
// throws the same DivergenceError.
at::Tensor joined(const Ranks& team, std::int64_t count, std::int64_t dim,
                  const std::function<at::Tensor(std::int64_t, std::int64_t)>& work) {
  const auto [first, last] = team.block(count);
  const std::int64_t local = last - first;
  const std::int64_t parts = std::clamp<std::int64_t>(workers::inside() ? 1 : workers::count(), 1, std::max<std::int64_t>(1, local));
  const auto mine = [&, first = first] {
    if (parts == 1) return work(first, first + local);
    std::vector<at::Tensor> blocks(static_cast<std::size_t>(parts));
    workers::each(parts, [&](std::int64_t k) {
      blocks[static_cast<std::size_t>(k)] = work(first + local * k / parts, first + local * (k + 1) / parts);
    });
    return at::cat(blocks, dim);
  };
  if (team.size() == 1) return mine();
  at::Tensor block;
  std::string diverged;
  std::int64_t diverged_at = 0;
  try {
    block = mine().contiguous();
  } catch (const DivergenceError& e) {
    // Rethrown as it was: the step and the message without its prefix.
    const std::string prefix = "diverged at step " + std::to_string(e.step()) + ": ", what = e.what();
    diverged = what.rfind(prefix, 0) == 0 ? what.substr(prefix.size()) : what;
    diverged_at = e.step();
  }
  std::vector<at::Tensor> blocks;
  for (const auto& bytes : team.all_gather(Packer().text(diverged).integer(diverged_at).tensor(block).bytes())) {
    Unpacker in(bytes);
    const std::string failure = in.text();
    const std::int64_t step = in.integer();
    if (!failure.empty()) throw DivergenceError(step, failure);
    blocks.push_back(in.tensor());
  }
  return at::cat(blocks, dim);
}

// Grid points of a state whose spatial dims (those with a spacing) are its
// trailing dims; 0 where they are not, and a local analysis is not split.
std::int64_t trailing_points(const StateSpec& state) {
  std::int64_t points = 1;
  bool spatial = false;
  for (const auto& d : state.dims) {
    if (d.spacing > 0) points *= d.size, spatial = true;
    else if (spatial) return 0;
  }
  return spatial ? points : 0;
}
}  // namespace

Step advance(const Model& model, const Sampler& sampler, const at::Tensor& ensemble, std::int64_t steps,
             AssimilationProblem problem, std::uint64_t seed, const products::Normalisation* normalisation,
             Seconds& seconds, const Ranks& team) {
  Step out;
  out.forecast = ensemble;
  if (steps > 0) {
    auto t0 = std::chrono::steady_clock::now();
    // The members in blocks, one per rank and worker.
    out.forecast = joined(team, ensemble.size(0), 0, [&](std::int64_t first, std::int64_t last) {
      const at::Tensor block = ensemble.slice(0, first, last);
      if (last == first) return block.to(at::kDouble);
      auto trajectory = model.start((normalisation ? normalisation->physical(block, 1) : block).contiguous());
      trajectory->advance(steps);
      return normalisation ? normalisation->normalise(trajectory->state(), 1) : trajectory->state();
    });
    seconds.forecast += seconds_since(t0);
  }
  out.analysis = out.forecast;
  out.window = out.forecast.unsqueeze(1);
  if (problem.mask().sum().item<double>() > 0) {
    const std::int64_t members = ensemble.size(0);
    problem.set_forecast(out.forecast.contiguous());
    auto t0 = std::chrono::steady_clock::now();
    const std::int64_t points = trailing_points(problem.state());
    const bool spread = team.size() > 1 || (!workers::inside() && workers::count() > 1);
    if (spread && sampler.needs().local && points >= team.size() * std::max(1, workers::count())) {
      // A local analysis in regions, one per rank and worker: contiguous
      // blocks of the flattened grid; each keeps its region of its result.
      std::vector<std::int64_t> shape;
      std::mutex shaped;
      const at::Tensor part = joined(team, points, 1, [&](std::int64_t first, std::int64_t last) {
        at::Tensor analysed = at::zeros({points}, at::kBool);
        analysed.slice(0, first, last).fill_(true);
        AssimilationProblem region = problem;
        region.set_analysed_points(analysed);
        const at::Tensor window = sampler.sample(region, members, seed);
        {
          std::lock_guard<std::mutex> lock(shaped);
          shape = window.sizes().vec();
        }
        return window.reshape({-1, points}).slice(1, first, last);
      });
      out.window = part.reshape(shape);
    } else {
      out.window = sampler.sample(problem, members, seed);
    }
    out.analysis = out.window.select(1, out.window.size(1) - 1);
    seconds.analysis += seconds_since(t0);
  }
  return out;
}

// A filter through the window: the background ensemble analysed at frame 0,
// then forecast and analysed frame by frame, with the forecasts kept.
Window through_window(const Model& model, const Sampler& filter, const AssimilationProblem& window,
                          std::int64_t members, std::uint64_t seed, const products::Normalisation& normalisation,
                         std::int64_t frame_steps, Evaluations& evaluations, const Ranks& team) {
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  std::vector<std::int64_t> shape = window.background()->sizes().vec();
  shape.insert(shape.begin(), members);
  at::Tensor ensemble = window.background()->unsqueeze(0) +
                        window.background_sigma() * at::randn(shape, generator, at::TensorOptions().dtype(at::kDouble));
  std::vector<at::Tensor> analyses, forecasts;
  Seconds seconds;
  for (std::int64_t f = 0; f < window.observations().size(0); ++f) {
    AssimilationProblem frame = window;
    frame.set_observations(window.observations().slice(0, f, f + 1)).set_mask(window.mask().slice(0, f, f + 1));
    if (window.observation_sigmas().defined())
      frame.set_observation_sigmas(window.observation_sigmas().slice(0, f, f + 1));
    if (f > 0) evaluations.add_model_steps(members * frame_steps);
    const Step step = advance(model, filter, ensemble, f > 0 ? frame_steps : 0, frame, analysis_seed(seed, f),
                              &normalisation, seconds, team);
    ensemble = step.analysis;
    analyses.push_back(step.analysis);
    forecasts.push_back(step.forecast);
  }
  return {at::stack(analyses, 1), at::stack(forecasts, 1)};
}

Step Sliding::analyse(at::Tensor& ensemble, AssimilationProblem problem, const at::Tensor& obs_mask, std::int64_t c,
                      std::uint64_t seed, Seconds& seconds) {
  if (c + 1 - window_ > start_) {
    ensemble = next_start_;
    ++start_;
  }
  const std::int64_t frames = c + 1 - start_ + 1;
  const auto after_unobserved = [frames](const at::Tensor& last) {
    std::vector<std::int64_t> shape = last.sizes().vec();
    shape[0] = frames - 1;
    return at::cat({at::zeros(shape, last.options()), last}, 0);
  };
  problem.set_observations(after_unobserved(problem.observations())).set_mask(after_unobserved(obs_mask));
  Step step = advance(model_, sampler_, ensemble, 0, problem, analysis_seed(seed, c), nullptr, seconds);
  next_start_ = step.window.select(1, 1);
  // The forecast is the background's trajectory to the window's end.
  auto background = model_.start(ensemble.contiguous());
  background->advance(steps_ * (frames - 1));
  step.forecast = background->state();
  return step;
}

}  // namespace assim::cycle
