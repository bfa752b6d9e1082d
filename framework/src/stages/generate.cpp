// `run: generate`: integrates a model from seeded initial states (or the
// last states of another generate stage, or a restart file), spins it up, and writes snapshots to a NetCDF-4 file as it
// goes, with per-channel normalisation statistics.
//
// Output layout: (sample, time, state dims...). A sample is one piece of
// `frames` consecutive snapshots; each trajectory yields `pieces` of them,
// `piece_every` apart (the papers keep the first 32 days of every 100-day run
// so that pieces are nearly independent). Samples are piece-major:
// sample = piece * trajectories + trajectory.
#include <assim/error.hpp>
#include <assim/framework/duration.hpp>
#include <assim/memory.hpp>
#include <assim/framework/netcdf.hpp>
#include <assim/framework/ranks.hpp>
#include <assim/framework/stage.hpp>
#include <assim/log.hpp>
#include <assim/model.hpp>
#include <assim/progress.hpp>
#include <assim/shape.hpp>
#include <assim/workers.hpp>

#include <functional>

#include "products/products.hpp"
#include "restart.hpp"

#include <ATen/ATen.h>

#include <cmath>
#include <optional>

namespace assim {

namespace {

// Block average over the trailing spatial dims (those with a spacing).
at::Tensor coarsen(const at::Tensor& states, const StateSpec& spec, std::int64_t factor) {
  if (factor == 1) return states;
  at::Tensor out = states;
  std::int64_t ndim = states.dim();
  for (std::size_t d = 0; d < spec.dims.size(); ++d) {
    if (spec.dims[d].spacing <= 0) continue;
    std::int64_t axis = ndim - static_cast<std::int64_t>(spec.dims.size()) + static_cast<std::int64_t>(d);
    auto sizes = out.sizes().vec();
    sizes[axis] /= factor;
    sizes.insert(sizes.begin() + axis + 1, factor);
    out = out.reshape(sizes).mean(axis + 1);
  }
  return out;
}

// The settings of a generate stage in steps, checked: what `validate` can
// refuse before anything runs.
struct Schedule {
  std::int64_t trajectories, frames, factor, pieces, spinup, every, piece_every;
  StateSpec out_spec;  // the spec of a written snapshot (after coarsening)
};

Schedule schedule(const Config& config) {
  auto model = config.component<Model>("model");
  const StateSpec spec = model->state_spec();
  Schedule plan;
  plan.trajectories = config.get<std::int64_t>("trajectories");
  plan.frames = config.get<std::int64_t>("frames");
  plan.factor = config.get<std::int64_t>("coarsen");
  plan.pieces = config.get<std::int64_t>("pieces");
  auto steps_of = [&](const std::string& key) {
    try {
      return steps_in(config.get<std::string>(key), spec.time_step, spec.time_units);
    } catch (const ConfigError&) {
      throw;
    } catch (const Error& e) {
      config.fail(key, e.what());
    }
  };
  plan.spinup = steps_of("spinup");
  plan.every = steps_of("sample_every");
  if (plan.every < 1) config.fail("sample_every", "must be at least one time step");
  plan.piece_every = config.get<std::string>("piece_every").empty() ? plan.frames * plan.every : steps_of("piece_every");
  if (plan.piece_every < (plan.frames - 1) * plan.every + 1 && plan.pieces > 1)
    config.fail("piece_every", "pieces would overlap: a piece spans " + std::to_string((plan.frames - 1) * plan.every) +
                                   " steps, but pieces start only " + std::to_string(plan.piece_every) + " steps apart");
  // The steps to integrate must be countable (a huge duration must not wrap
  // around to a negative count).
  const double total = static_cast<double>(plan.spinup) + static_cast<double>(plan.pieces - 1) * plan.piece_every +
                       static_cast<double>(plan.frames - 1) * plan.every;
  if (!(total < 9.0e15)) config.fail("spinup", "the integration would take more time steps than can be counted");
  // The host holds the initial states and one snapshot of every trajectory;
  // a model keeps a few working copies of its states (QG about ten).
  double state_bytes = 8.0 * static_cast<double>(plan.trajectories);
  for (auto n : spec.shape()) state_bytes *= static_cast<double>(n);
  check_memory(config, "trajectories", 16 * state_bytes,
               std::to_string(plan.trajectories) + " trajectories of states " + shape_text(spec.shape()));
  plan.out_spec = products::generated_spec(config);
  return plan;
}

// The per-channel mean and std of the snapshots written, accumulated as they
// are: what observe divides the states by.
class ChannelMoments {
 public:
  explicit ChannelMoments(std::int64_t channels) : sum_(channels, 0.0), squares_(channels, 0.0) {}
  // A snapshot (trajectories, state...), whose first state dim is the channel when there are several.
  void add(const at::Tensor& snapshot) {
    const auto channels = static_cast<std::int64_t>(sum_.size());
    const at::Tensor by_channel =
        snapshot.reshape({snapshot.size(0), channels, -1}).transpose(0, 1).reshape({channels, -1});
    const at::Tensor s = by_channel.sum(1), sq = (by_channel * by_channel).sum(1);
    for (std::int64_t c = 0; c < channels; ++c) {
      sum_[c] += s[c].item<double>();
      squares_[c] += sq[c].item<double>();
    }
    count_ += static_cast<double>(by_channel.size(1));
  }
  std::vector<double> mean() const {
    std::vector<double> out(sum_.size());
    for (std::size_t c = 0; c < sum_.size(); ++c) out[c] = sum_[c] / count_;
    return out;
  }
  std::vector<double> standard_deviation() const {
    std::vector<double> out(sum_.size());
    const std::vector<double> m = mean();
    for (std::size_t c = 0; c < sum_.size(); ++c) out[c] = std::sqrt(std::max(0.0, squares_[c] / count_ - m[c] * m[c]));
    return out;
  }

 private:
  std::vector<double> sum_, squares_;
  double count_ = 0;
};

// The analysis mean at the last frame of every window and seed of an
// assimilate stage: a forecast from each analysis, trajectory window x seeds
// + seed (the order assimilate numbers its items in). Read through the
// product's reader one window and seed at a time, as the report draws them.
at::Tensor analysis_states(const Config& config, const StageInput& source, std::int64_t trajectories) {
  const at::Tensor rmse = products::read_assimilation_scores(source).rmse;  // (window, seed, time)
  const std::int64_t windows = rmse.size(0), seeds = rmse.size(1);
  if (windows * seeds != trajectories)
    config.fail("initial", "stage '" + source.name + "' holds " + std::to_string(windows) + " windows x " +
                               std::to_string(seeds) + " seeds of analyses; trajectories is " +
                               std::to_string(trajectories) + ": a forecast starts from each analysis");
  std::vector<at::Tensor> states;
  for (std::int64_t w = 0; w < windows; ++w)
    for (std::int64_t s = 0; s < seeds; ++s) {
      const at::Tensor last = products::read_assimilation_window(source.product, w, s).mean[-1];
      if (!at::isfinite(last).all().item<bool>())
        config.fail("initial", "stage '" + source.name + "': the analysis of window " + std::to_string(w) + ", seed " +
                                   std::to_string(s) + " is not finite at its last frame (a diverged run)");
      states.push_back(last.to(at::kDouble).unsqueeze(0));
    }
  return at::cat(states, 0);
}

// The trajectories' initial states: drawn by the model from the seed, or the
// last states of the stage named by `initial` (a generate stage's read as a
// restart: the end of each of its trajectories; an assimilate stage's last
// analyses), or read from a restart file.
at::Tensor initial_states(const StageContext& context, const Model& model, std::int64_t trajectories) {
  const Config& config = context.config();
  if (config.has("initial")) {
    const StageInput& source = context.input("initial");
    if (source.run == "assimilate") return analysis_states(config, source, trajectories);
    return read_restart(source.product, "", model.state_spec(), trajectories, config.where("initial"));
  }
  const std::string file = config.get<std::string>("restart");
  if (file.empty()) return model.initial_state(trajectories, context.seed());
  return read_restart(context.resolve(file), config.get<std::string>("restart_array"), model.state_spec(), trajectories,
                      config.where("restart"));
}

// What validate can know of `initial: $stage`: the stage it names writes
// states of this model's variable and shape (a generate stage's after its
// coarsening; an assimilate stage's are those of the data it observed, in
// the model's units); a generate stage one trajectory for each of this
// stage's, or one state for all of them (the rule read_restart applies to
// the file when the stage runs). An assimilate stage's count of windows x
// seeds is known when this stage runs (the data decides the windows).
void check_initial_stage(const Config& config, const std::map<std::string, Config>& inputs) {
  if (!config.get<std::string>("restart").empty())
    config.fail("restart", "and initial both give the initial states: name one of them");
  const std::string name = config.get<std::string>("initial");
  const bool analyses = inputs.count("initial.observations") > 0;  // an assimilate stage; a generate reads none
  if (analyses && inputs.at("initial.observations").get<bool>("normalise"))
    config.fail("initial", "stage '" + name.substr(1) + "' assimilated normalised observations: its analyses are "
                "not in the model's units");
  const Config& source = analyses ? inputs.at("initial.observations.data") : inputs.at("initial");
  const StateSpec from = products::generated_spec(source);
  const StateSpec to = config.component<Model>("model")->state_spec();
  auto described = [](const StateSpec& spec) {
    std::string dims;
    for (const auto& d : spec.dims) dims += (dims.empty() ? "" : ", ") + d.name;
    return "'" + spec.variable + "' of shape " + shape_text(spec.shape()) + " over (" + dims + ")";
  };
  bool same_dims = from.dims.size() == to.dims.size();
  for (std::size_t d = 0; same_dims && d < from.dims.size(); ++d) same_dims = from.dims[d].name == to.dims[d].name;
  if (from.variable != to.variable || from.shape() != to.shape() || !same_dims)
    config.fail("initial", "stage '" + name.substr(1) + "' writes states " + described(from) + ", but this stage's model "
                "starts from states " + described(to));
  if (analyses) return;
  const std::int64_t held = source.get<std::int64_t>("trajectories");
  const std::int64_t samples = held * source.get<std::int64_t>("pieces");
  const std::int64_t trajectories = config.get<std::int64_t>("trajectories");
  if (samples > 1 && held != trajectories)
    config.fail("initial", "stage '" + name.substr(1) + "' integrates " + std::to_string(held) +
                               (held == 1 ? " trajectory" : " trajectories") + ", this stage " +
                               std::to_string(trajectories) +
                               ": each trajectory continues one of its trajectories (or all start from its one state)");
}

class Generate : public Stage {
 public:
  std::string name() const override { return "generate"; }
  std::string doc() const override {
    return "integrate a model from seeded initial states and write snapshots to NetCDF";
  }
  Parameters parameters() const override {
    Parameters p;
    p.component("model", Kind::Model, "the model to integrate");
    p.integer("trajectories", 1, "", "independent trajectories, each from its own seeded initial state").at_least(1);
    p.string("spinup", "0 steps", "duration", "integration before the first snapshot ('5 years', '100 steps')");
    p.string("sample_every", "1 step", "duration", "time between snapshots ('1 day', '1 step')");
    p.integer("frames", 10, "", "snapshots per piece, the first at the start of the piece").at_least(1);
    p.integer("pieces", 1, "", "pieces per trajectory, the first starting at the end of the spin-up").at_least(1);
    p.string("piece_every", "", "duration",
             "time from the start of one piece to the start of the next; empty: contiguous pieces");
    p.integer("coarsen", 1, "", "block-average factor over the spatial dims of each snapshot").at_least(1);
    p.stage("initial", "a stage of this experiment whose last states start the trajectories: a generate stage's (each "
            "from the end of its own trajectory there, or all from its one state) or an assimilate stage's analysis "
            "means at the last frame of each window and seed (trajectory window x seeds + seed: a forecast from each); "
            "absent: the restart file, or the model's seeded initial condition")
        .one_of({"generate", "assimilate"})
        .optional();
    p.string("restart", "", "", "restart file for the initial states (NetCDF with the model's variable, or a "
             "meta.json of raw float64 arrays); empty: the model's seeded initial condition").input_file();
    p.string("restart_array", "q_step0", "", "array of a meta.json restart to start from");
    p.string("out", "data.nc", "", "file name of the result").output_name();
    return p;
  }

  std::map<std::string, std::filesystem::path> files_read(const Config& config,
                                                          const std::filesystem::path& folder) const override {
    std::filesystem::path restart = config.get<std::string>("restart");
    if (restart.empty()) return {};
    return restart_files(restart.is_relative() ? folder / restart : restart, config.get<std::string>("restart_array"));
  }

  void check(const Config& config, const std::map<std::string, Config>& inputs) const override {
    schedule(config);
    if (config.has("initial")) check_initial_stage(config, inputs);
  }

  bool spreads() const override { return true; }
  // sample = piece * trajectories + trajectory, so the first piece alone is
  // the first samples of the whole run, spin-up included. (Not one
  // trajectory alone: the model draws the initial states as one batch, whose
  // first member depends on the batch's size.)
  Part cheapest_part() const override { return {{{"pieces", 1}}, {"sample"}}; }

  // What the dataset records of how it was made: the model's settings and the schedule's.
  static products::Attributes attributes(const StageContext& context, const Schedule& plan) {
    products::Attributes attributes;
    for (const auto& [key, value] : context.settings_of("model")) attributes.setting("model_" + key, value);
    attributes.add("spinup_steps", static_cast<double>(plan.spinup));
    attributes.add("piece_every_steps", static_cast<double>(plan.piece_every));
    attributes.add("coarsen", static_cast<double>(plan.factor));
    attributes.add("seed", static_cast<double>(context.seed()));
    return attributes;
  }

  void run(StageContext& context) const override {
    const Config& config = context.config();
    auto model = config.component<Model>("model");
    StateSpec spec = model->state_spec();
    const Schedule plan = schedule(config);
    const auto trajectories = plan.trajectories, frames = plan.frames, factor = plan.factor, pieces = plan.pieces;
    const std::int64_t spinup = plan.spinup, every = plan.every, piece_every = plan.piece_every;
    const std::int64_t samples = trajectories * pieces;
    const StateSpec& out_spec = plan.out_spec;

    const at::Tensor initial = initial_states(context, *model, trajectories);
    // The trajectories are shared out among the ranks in contiguous blocks,
    // and a rank's block among its workers; every rank gathers each
    // snapshot, the leader writes it. A model steps its members
    // independently, so a block integrates as it would in the whole batch.
    const Ranks& ranks = context.ranks();
    const auto [first, last] = ranks.block(trajectories);
    std::vector<std::unique_ptr<Trajectory>> parts;
    const std::int64_t local = last - first;
    const std::int64_t shares = std::min<std::int64_t>(workers::count(), local);
    for (std::int64_t w = 0; w < shares; ++w) {
      const std::int64_t from = first + local * w / shares, to = first + local * (w + 1) / shares;
      parts.push_back(model->start(initial.to(at::kDouble).slice(0, from, to).contiguous()));
    }
    const auto each_part = [&](const std::function<void(Trajectory&)>& work) {
      workers::each(static_cast<std::int64_t>(parts.size()), [&](std::int64_t w) { work(*parts[w]); });
    };
    std::vector<std::int64_t> block_shape = {0};
    for (auto n : out_spec.shape()) block_shape.push_back(n);

    auto path = context.output() / config.get<std::string>("out");
    std::optional<products::DatasetWriter> file;
    if (ranks.leader()) file.emplace(path, out_spec, samples, frames, every, attributes(context, plan));

    const std::int64_t total = spinup + (pieces - 1) * piece_every + (frames - 1) * every;
    Progress progress("generate", total, "step");
    std::int64_t steps_taken = 0;
    auto advance = [&](std::int64_t steps) {
      // Chunks of about 1 % keep the progress line alive during a long spin-up.
      std::int64_t chunk = std::max<std::int64_t>(1, total / 100);
      while (steps > 0) {
        std::int64_t n = std::min(chunk, steps);
        each_part([n](Trajectory& part) { part.advance(n); });
        progress.advance(n);
        steps -= n;
        steps_taken += n;
      }
    };
    advance(spinup);

    ChannelMoments moments(products::has_channel_dim(out_spec) ? out_spec.dims[0].size : 1);
    for (std::int64_t piece = 0; piece < pieces; ++piece) {
      if (piece > 0) advance(piece_every - (frames - 1) * every);
      std::vector<int> trajectory_index(trajectories), piece_index(trajectories, static_cast<int>(piece));
      std::vector<double> piece_start(trajectories, static_cast<double>(piece * piece_every) * spec.time_step);
      for (std::int64_t t = 0; t < trajectories; ++t) trajectory_index[t] = static_cast<int>(t);
      if (file) file->write_samples(piece * trajectories, trajectory_index, piece_index, piece_start);
      for (std::int64_t f = 0; f < frames; ++f) {
        if (f > 0) advance(every);
        std::vector<at::Tensor> states = {at::empty(block_shape, at::TensorOptions().dtype(at::kDouble))};
        for (const auto& part : parts) states.push_back(coarsen(part->state(), spec, factor));
        const at::Tensor block = at::cat(states, 0).contiguous();
        const at::Tensor snapshot = ranks.all_gather_blocks(block);
        if (!at::isfinite(snapshot).all().item<bool>())
          throw DivergenceError(steps_taken, "non-finite state in snapshot " + std::to_string(f) + " of piece " +
                                                 std::to_string(piece));
        if (!file) continue;
        file->write_frame(piece * trajectories, f, snapshot);
        moments.add(snapshot);
      }
    }
    progress.finish();
    if (!file) return;
    file->finish(moments.mean(), moments.standard_deviation());
    log::info("wrote ", samples, " pieces x ", frames, " snapshots of ", spec.variable, " to ", path.filename().string());
  }
};

}  // namespace

std::unique_ptr<Stage> make_generate_stage() { return std::make_unique<Generate>(); }

}  // namespace assim
