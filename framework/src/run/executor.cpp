#include "executor.hpp"

#include "run/records/provenance.hpp"
#include "run/records/recheck.hpp"
#include "run/records/result_folder.hpp"

#include "experiment/graph.hpp"

#include <assim/error.hpp>
#include <assim/framework/experiment.hpp>
#include <assim/log.hpp>
#include <assim/team.hpp>
#include <assim/workers.hpp>

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <functional>
#include <new>
#include <optional>
#include <set>

namespace assim {

namespace fs = std::filesystem;

Executor::Executor(const ExperimentGraph& graph, const RecordStore& records, const ResultFolder& folder,
                   const Ranks& world, bool keep_going)
    : graph_(graph), records_(records), folder_(folder), world_(world), keep_going_(keep_going) {}

void Executor::run(const std::vector<Due>& due, Ledger& ledger) const {
  const Share share = this->share(due);
  const Ranks& runner = share.group ? *share.group : Ranks::self();

  // Each group runs its stages; its leader reports how they went. On one
  // rank, the stages that do not spread run side by side, one per worker,
  // in batches of stages that name no component in common (a train stage
  // fits the very object it names, an assimilate stage loads into it);
  // each stage that spreads then runs alone on every worker.
  struct Attempt {
    bool made = false;
    std::string error;  // empty: it succeeded
    std::exception_ptr thrown;
  };
  std::vector<Attempt> attempts(share.mine.size());
  std::atomic<bool> stop{false};
  const auto attempt = [&](std::size_t k) {
    if (stop && !keep_going_) return;
    attempts[k].made = true;
    try {
      run_stage(due[share.mine[k]], ledger.identities, runner);
    } catch (const std::exception& e) {
      attempts[k].error = without_backtrace(e.what());
      attempts[k].thrown = std::current_exception();
      stop = true;
    }
  };
  const Order order = this->order(due, share.mine, runner);
  // A stage alone in its batch runs on this thread, where its own items
  // (a fit's shards, an assimilation's windows) can still spread.
  for (const auto& batch : order.side_by_side)
    if (batch.size() == 1)
      attempt(batch.front());
    else
      workers::each(static_cast<std::int64_t>(batch.size()), [&](std::int64_t k) { attempt(batch[k]); });
  for (const auto k : order.alone) attempt(k);
  std::exception_ptr first_failure;
  Packer outcomes;
  std::int64_t reported = 0;
  for (std::size_t k = 0; k < share.mine.size(); ++k) {
    if (!attempts[k].made) continue;
    if (runner.leader())
      outcomes.text(due[share.mine[k]].name).integer(attempts[k].error.empty() ? 1 : 0).text(attempts[k].error),
          ++reported;
    if (attempts[k].thrown && !first_failure && !keep_going_) first_failure = attempts[k].thrown;
  }
  // Without --keep-going the first failure stops every rank (the rank
  // where it happened prints it); with it, every rank learns what failed.
  world_.together([&] {
    if (first_failure) std::rethrow_exception(first_failure);
  });
  gather(outcomes.bytes(), reported, ledger);
  // What the next levels read of this one: each result's hash and output bytes.
  for (const auto& d : due)
    if (!ledger.failed.count(d.name))
      ledger.identities[d.name] =
          stage_hash::identity(d.hash, folder_.record(records_.result_name(d.name))["outputs"]);
}

// In which order this rank runs its stages (indices into `mine`): batches
// that run side by side on the workers, of stages that do not spread over
// workers and name no component in common; then, one by one on every worker,
// the stages that do (all of them, in a group of several ranks). A fit
// spreads its shards: two fits side by side on one worker each took longer
// than one after the other on both (bench/runner/README.md).
Executor::Order Executor::order(const std::vector<Due>& due, const std::vector<std::size_t>& mine,
                                const Ranks& runner) const {
  Order order;
  std::vector<std::set<std::string>> named;  // the components each batch names
  for (std::size_t k = 0; k < mine.size(); ++k) {
    const auto& entry = graph_.stage(due[mine[k]].name);
    if (runner.size() > 1 || entry.stage->spreads()) {
      order.alone.push_back(k);
      continue;
    }
    const auto uses = graph_.components_of(entry);
    const auto shares = [&](const std::set<std::string>& taken) {
      return std::any_of(uses.begin(), uses.end(), [&](const std::string& c) { return taken.count(c) > 0; });
    };
    std::size_t b = 0;
    while (b < order.side_by_side.size() && shares(named[b])) ++b;
    if (b == order.side_by_side.size()) order.side_by_side.emplace_back(), named.emplace_back();
    order.side_by_side[b].push_back(k);
    named[b].insert(uses.begin(), uses.end());
  }
  return order;
}

// Who runs what: with at least as many stages as ranks, stage i on rank
// i mod R; with fewer, one rank each and the ranks left over shared out
// among the stages that spread their work.
Executor::Share Executor::share(const std::vector<Due>& due) const {
  const int n = static_cast<int>(due.size()), R = world_.size();
  Share share;
  if (n >= R) {
    for (int i = world_.rank(); i < n; i += R) share.mine.push_back(static_cast<std::size_t>(i));
  } else {
    std::vector<int> spreading;
    for (int i = 0; i < n; ++i)
      if (graph_.stage(due[i].name).stage->spreads()) spreading.push_back(i);
    const int r = world_.rank();
    const int color = r < n ? r : spreading.empty() ? n + r : spreading[(r - n) % spreading.size()];
    share.group.emplace(world_.split(color));
    if (color < n) share.mine.push_back(static_cast<std::size_t>(color));
  }
  return share;
}

// Every rank learns what the groups' leaders reported.
void Executor::gather(const std::string& outcomes, std::int64_t reported, Ledger& ledger) const {
  for (const auto& bytes : world_.all_gather(Packer().integer(reported).bytes() + outcomes)) {
    Unpacker in(bytes);
    for (std::int64_t k = in.integer(); k > 0; --k) {
      const std::string name = in.text();
      const bool ok = in.integer() == 1;
      const std::string message = in.text();
      if (ok) continue;
      if (world_.leader()) log::warning(message);
      ledger.fail(name, message);
    }
  }
}

void Executor::report(const Ledger& ledger) const {
  world_.together([&] {
    if (ledger.failures.empty() || !world_.leader()) return;
    std::string all;
    for (const auto& f : ledger.failures) all += "\n  " + f;
    throw Error(std::to_string(ledger.failures.size()) + " stage(s) failed or were skipped:" + all);
  });
}

// Runs one stage into a temporary folder and renames it into place with
// its record; a failure leaves nothing and names the components involved.
// Every rank of `group` calls it for a stage that spreads; the group's
// leader alone writes.
void Executor::run_stage(const Due& due, const std::map<std::string, std::string>& identities,
                         const Ranks& group) const {
  const std::string& name = due.name;
  const auto& entry = graph_.stage(name);
  const std::string run = entry.node["run"].Scalar();
  const std::string result = records_.result_name(name);
  const bool writer = group.leader();
  std::optional<ResultFolder::StageLock> lock;
  if (writer) lock.emplace(folder_, result);
  // The other ranks get a folder that is never made: a stray write fails.
  const fs::path partial = writer ? folder_.partial(result) : folder_.path() / ("." + result + ".not-this-rank");
  const Config& config = due.config;
  const auto inputs = inputs_of(name);
  StageContext context(
      config, partial, inputs, [this, &config](const std::string& key) { return settings_of(config, key); },
      graph_.experiment().folder(), folder_.resume(result, due.hash), group);
  if (writer)
    log::info("stage ", name, " (", run, "): running", group.size() > 1 ? " on " + std::to_string(group.size()) + " ranks" : "");
  const std::string started = provenance::now_text();
  const auto t0 = std::chrono::steady_clock::now();
  const std::uint64_t sent = group.bytes_sent();
  try {
    group.together([&] {
      // A stage on several ranks shares its items among them (sdk team.hpp: a fit's shards).
      std::optional<team::Scope> team;
      if (group.size() > 1)
        team.emplace(group.rank(), group.size(), [&group](const std::string& bytes) { return group.all_gather(bytes); });
      entry.stage->run(context);
    });
  } catch (const RemoteFailure&) {
    if (writer) folder_.failed(partial);
    throw;
  } catch (const ConfigError&) {
    if (writer) folder_.failed(partial);
    throw;
  } catch (const std::exception& e) {
    if (writer) folder_.failed(partial);
    throw_failure(name, e);
  } catch (...) {
    if (writer) folder_.failed(partial);
    throw Error("stage '" + name + "' (" + run + ") failed" + involved(name) +
                ": a plugin threw something that is not a std::exception");
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (group.size() > 1) log::info("stage ", name, ": sent ", group.bytes_sent() - sent, " bytes to the other ranks");
  if (!writer) return;
  try {
    folder_.commit(result, partial,
                   records_.record_of(name, due.hash, due.files, identities, partial, started, seconds));
  } catch (const std::exception& e) {
    // A record that could not be made or written (a full disk) commits nothing.
    folder_.failed(partial);
    throw Error("stage '" + name + "' (" + run + ") failed: " + e.what());
  }
  log::info("stage ", name, " (", run, "): done in ", seconds, " s -> ", folder_.result(result).string());
}

// The error a stage that threw `e` fails with.
void Executor::throw_failure(const std::string& name, const std::exception& e) const {
  const std::string run = graph_.stage(name).node["run"].Scalar();
  // LibTorch's CPU allocator says it ran out with a c10::Error of its own, not std::bad_alloc.
  if (dynamic_cast<const std::bad_alloc*>(&e) ||
      std::string(e.what()).find("DefaultCPUAllocator: can't allocate memory") != std::string::npos)
    throw Error("stage '" + name + "' (" + run + ") ran out of memory" + involved(name) +
                "; make the problem smaller (grid, members, trajectories, batch) or give it more memory");
  throw Error("stage '" + name + "' (" + run + ") failed" + involved(name) + ": " + without_backtrace(e.what()));
}

std::string Executor::recheck(const std::string& name, std::string& checked) const {
  const auto& entry = graph_.stage(name);
  const Stage::Part part = entry.stage->cheapest_part();
  YAML::Node node = YAML::Clone(entry.node);
  std::string shrunk;
  for (const auto& [key, value] : part.settings) {
    node[key] = value;
    shrunk += (shrunk.empty() ? " with " : ", ") + key + " " + std::to_string(value);
  }
  const Config config = graph_.config(name, node);
  const auto inputs = inputs_of(name);
  const std::string result = records_.result_name(name);
  const fs::path scratch = folder_.partial(result);
  fs::create_directories(scratch / "result");
  StageContext context(
      config, scratch / "result", inputs, [this, &config](const std::string& key) { return settings_of(config, key); },
      graph_.experiment().folder(), scratch / "resume");
  log::info("stage ", name, ": recomputing it", shrunk.empty() ? " whole" : shrunk, " to compare with its result");
  std::string why;
  try {
    entry.stage->run(context);
    const recheck::Outcome outcome = recheck::compare(folder_.result(result), scratch / "result", part.dims);
    why = outcome.difference;
    checked = "recomputed" + (shrunk.empty() ? std::string(" whole") : shrunk) + ": " +
              std::to_string(outcome.variables) + " variables, " + std::to_string(outcome.values) +
              " values equal bit for bit";
  } catch (const std::exception& e) {
    why = "recomputing it failed: " + without_backtrace(e.what());
  }
  folder_.failed(scratch);
  return why;
}

// The stages `name` reads, by the key that names each ("data", "of[0]").
std::map<std::string, std::shared_ptr<const StageInput>> Executor::inputs_of(const std::string& name) const {
  std::map<std::string, std::shared_ptr<const StageInput>> inputs;
  for (const auto& [key, input] : graph_.stage(name).inputs)
    inputs[key.substr(std::string("stages." + name + ".").size())] = stage_input(input);
  return inputs;
}

// What a reading stage learns of stage `name`: its folder, the file its
// first output_name() parameter names (its product; others name files
// beside it, as evaluate's sweep.nc), its settings and, in turn, the stages
// it reads.
std::shared_ptr<const StageInput> Executor::stage_input(const std::string& name) const {
  const auto& entry = graph_.stage(name);
  auto in = std::make_shared<StageInput>(StageInput{name, entry.node["run"].Scalar(),
                                                    folder_.path() / records_.result_name(name), {},
                                                    graph_.config(name), {}});
  for (const auto& p : entry.declared)
    if (p.path_role == PathRole::OutputName && in->product.empty())
      in->product = in->folder / in->settings.get<std::string>(p.name);
  const std::string prefix = "stages." + name + ".";
  for (const auto& [key, input] : entry.inputs) in->inputs[key.substr(prefix.size())] = stage_input(input);
  // What producing it cost, from its record (kept when the stage is reused).
  try {
    const fs::path record = in->folder / stage_record_file;
    if (fs::exists(record)) {
      const YAML::Node node = YAML::LoadFile(record.string());
      if (node["seconds"]) in->seconds = node["seconds"].as<double>();
    }
  } catch (const YAML::Exception&) {
  }
  return in;
}

// The resolved settings (name, YAML scalar text) of the component `key` of
// `config` refers to, nested keys dotted, for provenance attributes.
std::vector<std::pair<std::string, std::string>> Executor::settings_of(const Config& config,
                                                                       const std::string& key) const {
  std::vector<std::pair<std::string, std::string>> out;
  const auto& component = graph_.component(config.reference(key));
  std::function<void(const YAML::Node&, const std::string&)> flatten = [&](const YAML::Node& node,
                                                                           const std::string& prefix) {
    for (const auto& kv : node) {
      std::string k = prefix + kv.first.Scalar();
      if (kv.second.IsMap()) {
        flatten(kv.second, k + ".");
      } else if (kv.second.IsScalar()) {
        out.emplace_back(k, kv.second.Scalar());
      } else {
        YAML::Emitter e;
        e << YAML::Flow << kv.second;
        out.emplace_back(k, e.c_str());
      }
    }
  };
  flatten(component.node, "");
  return out;
}

// " (components: prior = prior.score_unet from plugin score_prior 1.2.0, ...)"
std::string Executor::involved(const std::string& name) const {
  const std::set<std::string> closure = graph_.components_of(graph_.stage(name));
  std::string out;
  for (const auto& c : closure) {
    const auto& entry = graph_.component(c);
    out += (out.empty() ? "" : ", ") + c + " = " + entry.type->type.name;
    if (entry.type->plugin) out += " from plugin " + entry.type->plugin->name + " " + entry.type->plugin->version;
  }
  return out.empty() ? "" : " (components: " + out + ")";
}

}  // namespace assim
