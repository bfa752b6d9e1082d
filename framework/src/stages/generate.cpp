// `run: generate`: integrates a model from seeded initial states (or a
// restart file), spins it up, and writes snapshots to a NetCDF-4 file as it
// goes, with per-channel normalisation statistics.
//
// Output layout: (sample, time, state dims...). A sample is one piece of
// `frames` consecutive snapshots; each trajectory yields `pieces` of them,
// `piece_every` apart (the papers keep the first 32 days of every 100-day run
// so that pieces are nearly independent). Samples are piece-major:
// sample = piece * trajectories + trajectory.
#include <assim/error.hpp>
#include <assim/framework/duration.hpp>
#include <assim/framework/memory.hpp>
#include <assim/framework/netcdf.hpp>
#include <assim/framework/stage.hpp>
#include <assim/log.hpp>
#include <assim/model.hpp>
#include <assim/progress.hpp>
#include <assim/shape.hpp>

#include "restart.hpp"

#include <ATen/ATen.h>

#include <cmath>

namespace assim {

namespace {

bool is_number(const std::string& text, double& value) {
  try {
    std::size_t used = 0;
    value = std::stod(text, &used);
    return used == text.size();
  } catch (const std::exception&) {
    return false;
  }
}

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
  plan.out_spec = spec;
  for (auto& d : plan.out_spec.dims)
    if (d.spacing > 0) {
      if (d.size % plan.factor != 0)
        config.fail("coarsen", "factor " + std::to_string(plan.factor) + " does not divide dimension " + d.name +
                                   " of size " + std::to_string(d.size));
      d.size /= plan.factor;
      d.spacing *= plan.factor;
    }
  return plan;
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
    p.string("initial", "", "", "restart file for the initial states (NetCDF with the model's variable, or a "
             "meta.json of raw float64 arrays); empty: the model's seeded initial condition").input_file();
    p.string("initial_array", "q_step0", "", "array of a meta.json restart to start from");
    p.string("out", "data.nc", "", "file name of the result").output_name();
    return p;
  }

  std::map<std::string, std::filesystem::path> files_read(const Config& config,
                                                          const std::filesystem::path& folder) const override {
    std::filesystem::path initial = config.get<std::string>("initial");
    if (initial.empty()) return {};
    return restart_files(initial.is_relative() ? folder / initial : initial, config.get<std::string>("initial_array"));
  }

  void check(const Config& config, const std::map<std::string, Config>&) const override { schedule(config); }

  void run(StageContext& context) const override {
    const Config& config = context.config();
    auto model = config.component<Model>("model");
    StateSpec spec = model->state_spec();
    const Schedule plan = schedule(config);
    const auto trajectories = plan.trajectories, frames = plan.frames, factor = plan.factor, pieces = plan.pieces;
    const std::int64_t spinup = plan.spinup, every = plan.every, piece_every = plan.piece_every;
    const std::int64_t samples = trajectories * pieces;
    const StateSpec& out_spec = plan.out_spec;

    at::Tensor initial;
    std::string initial_file = config.get<std::string>("initial");
    if (initial_file.empty()) {
      initial = model->initial_state(trajectories, context.seed());
    } else {
      initial = read_restart(context.resolve(initial_file), config.get<std::string>("initial_array"), spec, trajectories,
                             config.where("initial"));
    }
    auto trajectory = model->start(initial.to(at::kDouble).contiguous());

    auto path = context.output() / config.get<std::string>("out");
    auto file = netcdf::File::create(path);
    file.dimension("sample", static_cast<std::size_t>(samples));
    file.dimension("time", static_cast<std::size_t>(frames));
    std::vector<std::string> dims = {"sample", "time"};
    for (const auto& d : out_spec.dims) {
      file.dimension(d.name, static_cast<std::size_t>(d.size));
      dims.push_back(d.name);
    }
    file.variable("time", "double", {"time"});
    file.attribute("time", "units", spec.time_units == "s" ? std::string("s") : std::string("1"));
    file.attribute("time", "long_name", "time since the start of the piece");
    file.variable("trajectory", "int", {"sample"});
    file.attribute("trajectory", "long_name", "trajectory (independent initial state) the sample comes from");
    file.variable("piece", "int", {"sample"});
    file.attribute("piece", "long_name", "index of the piece within its trajectory");
    file.variable("piece_start", "double", {"sample"});
    file.attribute("piece_start", "units", spec.time_units == "s" ? std::string("s") : std::string("1"));
    file.attribute("piece_start", "long_name", "start of the piece, counted from the end of the spin-up");
    for (const auto& d : out_spec.dims) {
      if (d.spacing <= 0) continue;
      file.variable(d.name, "double", {d.name});
      file.attribute(d.name, "units", d.units);
      file.attribute(d.name, "long_name", "cell-centre coordinate");
    }
    file.variable(spec.variable, "double", dims);
    file.attribute(spec.variable, "units", spec.units);
    file.attribute(spec.variable, "long_name", spec.long_name);
    // Normalisation statistics per channel (the first dim when it is an index, such as layer).
    bool per_channel = !spec.dims.empty() && spec.dims[0].spacing <= 0;
    std::vector<std::string> stat_dims;
    if (per_channel) stat_dims.push_back(spec.dims[0].name);
    for (const char* stat : {"_mean", "_std"}) {
      file.variable(spec.variable + stat, "double", stat_dims);
      file.attribute(spec.variable + stat, "units", spec.units);
      file.attribute(spec.variable + stat, "long_name",
                     std::string(stat == std::string("_mean") ? "mean" : "standard deviation") +
                         " over trajectories, time and space, for normalisation");
    }
    file.attribute("", "Conventions", "CF-1.8");
    file.attribute("", "title", "trajectories of " + spec.long_name);
    file.attribute("", "source", "assim " ASSIM_SDK_VERSION " generate stage");
    file.attribute("", "state_variable", spec.variable);
    for (const auto& [key, value] : context.settings_of("model")) {
      double number = 0;
      if (is_number(value, number))
        file.attribute("", "model_" + key, number);
      else
        file.attribute("", "model_" + key, value);
    }
    file.attribute("", "time_step", spec.time_step);
    file.attribute("", "spinup_steps", static_cast<double>(spinup));
    file.attribute("", "sample_every_steps", static_cast<double>(every));
    file.attribute("", "piece_every_steps", static_cast<double>(piece_every));
    file.attribute("", "coarsen", static_cast<double>(factor));
    file.attribute("", "seed", static_cast<double>(context.seed()));
    file.end_definitions();
    for (const auto& d : out_spec.dims) {
      if (d.spacing <= 0) continue;
      std::vector<double> centres(d.size);
      for (std::int64_t i = 0; i < d.size; ++i) centres[i] = (i + 0.5) * d.spacing;
      file.write(d.name, {0}, {static_cast<std::size_t>(d.size)}, centres.data());
    }

    const std::int64_t total = spinup + (pieces - 1) * piece_every + (frames - 1) * every;
    Progress progress("generate", total, "step");
    auto advance = [&](std::int64_t steps) {
      // Chunks of about 1 % keep the progress line alive during a long spin-up.
      std::int64_t chunk = std::max<std::int64_t>(1, total / 100);
      while (steps > 0) {
        std::int64_t n = std::min(chunk, steps);
        trajectory->advance(n);
        progress.advance(n);
        steps -= n;
      }
    };
    advance(spinup);

    std::int64_t channels = per_channel ? out_spec.dims[0].size : 1;
    std::vector<double> sum(channels, 0.0), sum_sq(channels, 0.0);
    double count = 0;
    std::vector<std::size_t> start(dims.size(), 0), count_of(dims.size());
    count_of[0] = static_cast<std::size_t>(trajectories);
    count_of[1] = 1;
    for (std::size_t i = 0; i < out_spec.dims.size(); ++i) count_of[i + 2] = out_spec.dims[i].size;
    for (std::int64_t piece = 0; piece < pieces; ++piece) {
      if (piece > 0) advance(piece_every - (frames - 1) * every);
      std::vector<int> trajectory_index(trajectories), piece_index(trajectories, static_cast<int>(piece));
      std::vector<double> piece_start(trajectories, static_cast<double>(piece * piece_every) * spec.time_step);
      for (std::int64_t t = 0; t < trajectories; ++t) trajectory_index[t] = static_cast<int>(t);
      std::vector<std::size_t> first = {static_cast<std::size_t>(piece * trajectories)};
      std::vector<std::size_t> n = {static_cast<std::size_t>(trajectories)};
      file.write("trajectory", first, n, trajectory_index.data());
      file.write("piece", first, n, piece_index.data());
      file.write("piece_start", first, n, piece_start.data());
      start[0] = first[0];
      for (std::int64_t f = 0; f < frames; ++f) {
        if (f > 0) advance(every);
        at::Tensor snapshot = coarsen(trajectory->state(), spec, factor).contiguous();
        if (!at::isfinite(snapshot).all().item<bool>())
          throw DivergenceError(trajectory->steps_taken(), "non-finite state in snapshot " + std::to_string(f) +
                                                               " of piece " + std::to_string(piece));
        start[1] = static_cast<std::size_t>(f);
        file.write(spec.variable, start, count_of, snapshot.data_ptr<double>());
        at::Tensor by_channel =
            snapshot.reshape({trajectories, channels, -1}).transpose(0, 1).reshape({channels, -1});
        at::Tensor s = by_channel.sum(1), sq = (by_channel * by_channel).sum(1);
        for (std::int64_t c = 0; c < channels; ++c) {
          sum[c] += s[c].item<double>();
          sum_sq[c] += sq[c].item<double>();
        }
        count += static_cast<double>(by_channel.size(1));
      }
    }
    std::vector<double> times(frames);
    for (std::int64_t f = 0; f < frames; ++f) times[f] = static_cast<double>(f * every) * spec.time_step;
    file.write("time", {0}, {static_cast<std::size_t>(frames)}, times.data());
    std::vector<double> mean(channels), std(channels);
    for (std::int64_t c = 0; c < channels; ++c) {
      mean[c] = sum[c] / count;
      std[c] = std::sqrt(std::max(0.0, sum_sq[c] / count - mean[c] * mean[c]));
    }
    std::vector<std::size_t> stat_start(per_channel ? 1 : 0, 0), stat_count(per_channel ? 1 : 0, channels);
    file.write(spec.variable + "_mean", stat_start, stat_count, mean.data());
    file.write(spec.variable + "_std", stat_start, stat_count, std.data());
    file.close();
    progress.finish();
    log::info("wrote ", samples, " pieces x ", frames, " snapshots of ", spec.variable, " to ", path.filename().string());
  }
};

}  // namespace

std::unique_ptr<Stage> make_generate_stage() { return std::make_unique<Generate>(); }

}  // namespace assim
