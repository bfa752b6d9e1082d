#include "cli.hpp"

#include <assim/error.hpp>
#include <assim/framework/experiment.hpp>
#include <assim/framework/ranks.hpp>
#include <assim/framework/stage.hpp>
#include <assim/log.hpp>

#include <boost/program_options.hpp>

#include <optional>
#include <iostream>

namespace assim {

namespace po = boost::program_options;

namespace {

const char* usage =
    "usage: assim <command> [options]\n"
    "\n"
    "commands:\n"
    "  run EXPERIMENT.yaml       run the stages of an experiment\n"
    "  validate EXPERIMENT.yaml  check an experiment without running it\n"
    "  plugins [EXPERIMENT.yaml] list the component types and stages (with the experiment's plugin_path)\n"
    "\n"
    "`assim <command> --help` describes each command's options.\n";

struct Common {
  po::options_description options{"common options"};
  std::string log_level = "info";
  int threads = 0;
  int workers = 0;
  Common() {
    options.add_options()("help,h", "show this help")(
        "log-level", po::value(&log_level)->default_value("info"), "debug, info, warning or error")(
        "workers", po::value(&workers)->default_value(0),
        "workers per rank, each solving items (windows, repetitions, trajectories) on its own; 0: the cores of "
        "this machine shared out among its ranks, divided by --threads")(
        "threads", po::value(&threads)->default_value(0),
        "tensor threads of each worker; 0: OMP_NUM_THREADS if set, else 1. Several threads share one item's "
        "work, and all of them wait whenever another process takes the core of one (bench/runner/README.md)");
  }
  void apply() const {
    if (log_level == "debug") log::set_level(log::Level::Debug);
    else if (log_level == "info") log::set_level(log::Level::Info);
    else if (log_level == "warning") log::set_level(log::Level::Warning);
    else if (log_level == "error") log::set_level(log::Level::Error);
    else throw po::error("--log-level must be debug, info, warning or error");
    try {
      configure_workers(workers, threads);
    } catch (const Error& e) {
      throw po::error(e.what());  // a usage error, as the other options' (exit status 2)
    }
  }
};

// Parses a command whose one positional argument is the experiment file;
// with --help, prints the options and returns nothing.
std::optional<po::variables_map> parse(int argc, char** argv, const po::options_description& options) {
  po::positional_options_description positional;
  positional.add("experiment", 1);
  po::variables_map vm;
  po::store(po::command_line_parser(argc, argv).options(options).positional(positional).run(), vm);
  if (vm.count("help")) {
    std::cout << options;
    return std::nullopt;
  }
  po::notify(vm);
  return vm;
}

int run_or_validate(const std::string& command, int argc, char** argv) {
  Common common;
  std::string experiment;
  std::vector<std::string> sets;
  RunOptions run;
  std::string output_root;
  bool print = false;
  po::options_description options(command == "run" ? "assim run EXPERIMENT.yaml [options]"
                                                   : "assim validate EXPERIMENT.yaml [options]");
  options.add_options()("experiment", po::value(&experiment), "the experiment file")(
      "set", po::value(&sets)->composing(), "override a value: --set stages.truth.frames=20 (repeatable)");
  if (command == "run")
    options.add_options()("only", po::value(&run.only)->composing(),
                          "run only the stages of this name or glob pattern ('soad_*'; repeatable); their inputs "
                          "must have results or be selected too")(
        "force", po::bool_switch(&run.force), "recompute stages even when their results are up to date")(
        "keep-going", po::bool_switch(&run.keep_going),
        "after a failed stage, run the stages that do not depend on it; fail at the end")(
        "adopt", po::bool_switch(&run.adopt),
        "keep the selected results that an earlier build computed where nothing else changed (settings, plugin "
        "versions, files read, inputs) and today's build recomputes their cheapest part (an assimilate stage's first "
        "window and seed, a filter's first repetition, a generate stage's first piece, other stages whole) bit for bit; re-stamped and noted in their records; name the others "
        "and why")(
        "output", po::value(&output_root)->default_value("runs"),
        "folder of the results: OUTPUT/<experiment>/<stage>/")(
        "variant", po::value(&run.variant),
        "a name for the settings --set makes: the stages they change write to <stage>@NAME, beside the base "
        "results, and the unchanged stages are shared");
  else
    options.add_options()("print", po::bool_switch(&print),
                          "print the experiment as it would run: sweeps expanded, --set applied, defaults filled")(
        "variant", po::value(&run.variant),
        "list the stages `run --variant NAME` with these --set values writes to <stage>@NAME");
  options.add(common.options);
  const auto given = parse(argc, argv, options);
  if (!given) return 0;
  if (experiment.empty()) throw po::error("missing the experiment file");
  if (run.adopt && run.force)
    throw po::error("--adopt computes nothing and --force recomputes: give one of them");
  if (command == "run" && output_root.empty()) throw po::error("--output '': name the folder of the results");
  if (given->count("variant") && run.variant.empty())
    throw po::error("--variant '': a variant needs a name; it names the folders <stage>@NAME");
  common.apply();
  // Every rank reads and checks the experiment; an error is the same on all
  // of them, and they agree on it rather than wait for each other.
  std::unique_ptr<Session> reading;
  Ranks::world().together([&] {
    reading = std::make_unique<Session>(experiment, sets);
    reading->validate();
  });
  Session& session = *reading;
  if (command == "validate") {
    if (!Ranks::world().leader()) return 0;
    if (print) std::cout << session.resolved() << "\n";
    if (!run.variant.empty()) {
      std::cout << "--variant " << run.variant << " writes:";
      for (const auto& s : session.variant_stages(run.variant)) std::cout << ' ' << s << '@' << run.variant;
      std::cout << '\n';
    }
    std::cout << experiment << ": valid; stages in order:";
    for (const auto& s : session.order()) std::cout << ' ' << s;
    std::cout << '\n';
    return 0;
  }
  run.output_root = output_root;
  session.run(run);
  return 0;
}

void print_parameters(const std::vector<Parameter>& list, const std::string& indent) {
  for (const auto& p : list) {
    std::cout << indent << p.describe() << "\n";
    print_parameters(p.fields, indent + "  ");
  }
}

int plugins(int argc, char** argv) {
  Common common;
  bool verbose = false;
  std::vector<std::string> paths;
  std::string experiment;
  po::options_description options("assim plugins [EXPERIMENT.yaml] [options]");
  options.add_options()("verbose,v", po::bool_switch(&verbose), "list every parameter with type, default, unit and doc")(
      "plugin-path", po::value(&paths)->composing(), "also load plugins from this file or folder (repeatable)")(
      "experiment", po::value(&experiment), "also load the plugins of this experiment's plugin_path");
  options.add(common.options);
  if (!parse(argc, argv, options)) return 0;
  common.apply();
  // An experiment brings the catalog its own plugin_path loads.
  std::unique_ptr<Session> session;
  PluginCatalog own;
  if (!experiment.empty()) session = std::make_unique<Session>(experiment, std::vector<std::string>{});
  else own.load_defaults();
  PluginCatalog& catalog = session ? session->catalog() : own;
  for (const auto& p : paths) catalog.load(p, "--plugin-path");
  for (const auto& plugin : catalog.plugins()) {
    std::cout << "plugin " << plugin->name << " " << plugin->version << " (" << plugin->file.string() << ")\n";
    for (const auto& name : catalog.type_names()) {
      const auto* t = catalog.find(name);
      if (t->plugin != plugin.get()) continue;
      std::cout << "  " << name << " [" << to_string(t->type.kind) << "]: " << t->type.doc << "\n";
      if (verbose) print_parameters(t->type.parameters.list(), "      ");
    }
  }
  std::cout << "stages (run: NAME)\n";
  for (const auto& [name, stage] : stages()) {
    std::cout << "  " << name << ": " << stage->doc() << "\n";
    if (!verbose) continue;
    print_parameters(stage->parameters().list(), "      ");
    std::cout << "      seed: integer, default the experiment's seed, >= 0: seed of everything random in this stage\n";
  }
  return 0;
}

}  // namespace

int command_line(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << usage;
    return 2;
  }
  std::string command = argv[1];
  if (command == "--help" || command == "-h" || command == "help") {
    std::cout << usage;
    return 0;
  }
  try {
    if (command == "run" || command == "validate") return run_or_validate(command, argc - 1, argv + 1);
    if (command == "plugins") return plugins(argc - 1, argv + 1);
    std::cerr << "assim: unknown command '" << command << "'\n\n" << usage;
    return 2;
  } catch (const po::error& e) {
    std::cerr << "assim " << command << ": " << e.what() << "\n(see `assim " << command << " --help`)\n";
    return 2;
  } catch (const RemoteFailure&) {
    return 1;  // printed by the rank where it happened
  } catch (const std::bad_alloc&) {
    std::cerr << "assim: error: out of memory (a grid, ensemble or batch too large for this machine)\n";
    return 1;
  } catch (const std::exception& e) {
    const std::string rank = Ranks::world().size() > 1 ? Ranks::world().name() + ": " : "";
    std::cerr << "assim: error: " << rank << without_backtrace(e.what()) << "\n";
    return 1;
  } catch (...) {
    std::cerr << "assim: error: a plugin threw something that is not a std::exception\n";
    return 1;
  }
}

}  // namespace assim
