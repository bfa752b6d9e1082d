// Every in-tree plugin against the SDK's contract suites, loaded from its
// built file the way the host loads it (no plugin's sources are included),
// with the settings in plugins/<plugin>/tests/contract.yaml.
#include <torch/torch.h>

#include <assim/framework/plugins.hpp>
#include <assim/testing/config.hpp>
#include <assim/testing/contracts.hpp>

#include <doctest/doctest.h>

#include <yaml-cpp/yaml.h>

#include <unistd.h>

#include <filesystem>
#include <map>
#include <set>

namespace {

// Each plugin's small settings for its types, from the contract.yaml in its
// own tests folder (plugins/<plugin>/tests/contract.yaml), as YAML text, and
// that file for each type (a file the settings name is relative to it).
// An entry for a type the plugin does not register is an error in `wrong`.
std::map<std::string, std::string> contract_settings(const assim::PluginCatalog& catalog, std::set<std::string>& wrong,
                                                     std::map<std::string, std::string>& files) {
  std::map<std::string, std::string> settings;
  for (const auto& plugin : catalog.plugins()) {
    const auto file = std::filesystem::path(ASSIM_PLUGIN_SOURCE_DIR) / plugin->name / "tests" / "contract.yaml";
    if (!std::filesystem::exists(file)) continue;
    for (const auto& entry : YAML::LoadFile(file.string())) {
      const auto type = entry.first.as<std::string>();
      const assim::RegisteredType* found = catalog.find(type);
      if (!found || found->plugin != plugin.get()) wrong.insert(file.string() + ": " + type);
      settings[type] = YAML::Dump(entry.second);
      files[type] = file.string();
    }
  }
  return settings;
}

// YAML text of a map with the keys of `more` added.
std::string with_keys(const std::string& yaml, const std::string& more) {
  YAML::Node node = YAML::Load(yaml);
  for (const auto& entry : YAML::Load(more)) node[entry.first.as<std::string>()] = entry.second;
  return YAML::Dump(node);
}

struct Catalog {
  assim::PluginCatalog catalog;
  std::map<std::string, std::shared_ptr<assim::Component>> built;
  std::set<std::string> misplaced;  // contract.yaml entries for another plugin's types
  std::map<std::string, std::string> settings, files;
  Catalog() {
    catalog.load(ASSIM_PLUGIN_BUILD_DIR, "the build's plugin folder");
    settings = contract_settings(catalog, misplaced, files);
  }

  template <class T>
  std::shared_ptr<T> make(const std::string& type, const std::string& yaml) {
    const assim::RegisteredType* found = catalog.find(type);
    REQUIRE_MESSAGE(found, "no plugin provides " << type);
    const std::string file = files.count(type) ? files.at(type) : type;
    return std::dynamic_pointer_cast<T>(
        found->type.create(assim::config_from_yaml(yaml, found->type.parameters, file, built)));
  }
  template <class T>
  std::shared_ptr<T> make(const std::string& type) {
    REQUIRE_MESSAGE(settings.count(type), "no contract settings for " << type);
    return make<T>(type, settings.at(type));
  }
};

assim::StateSpec spec_of(const std::vector<std::int64_t>& shape) {
  assim::StateSpec spec;
  spec.variable = "q";
  spec.units = "1";
  spec.time_step = 1;
  spec.time_units = "1";
  spec.dims.push_back({"layer", shape[0], "", 0.0});
  spec.dims.push_back({"y", shape[1], "m", 1.0});
  spec.dims.push_back({"x", shape[2], "m", 1.0});
  return spec;
}

}  // namespace

TEST_CASE("every registered type has contract settings beside its plugin, so that none goes unchecked") {
  Catalog c;
  std::set<std::string> missing;
  for (const auto& name : c.catalog.type_names())
    if (!c.settings.count(name)) missing.insert(name);
  CHECK_MESSAGE(missing.empty(), "types without contract settings in plugins/<plugin>/tests/contract.yaml: "
                                     << *missing.begin());
  CHECK_MESSAGE(c.misplaced.empty(), "contract settings for a type the plugin does not register: "
                                         << *c.misplaced.begin());
}

TEST_CASE("models keep the Model contract") {
  Catalog c;
  // model.python: the Python twin of model.lorenz96, run by the embedded interpreter.
  for (const char* type : {"model.qg", "model.lorenz96", "model.lorenz63", "model.python"}) {
    CAPTURE(type);
    const auto failures = assim::testing::check_model(*c.make<assim::Model>(type));
    CHECK_MESSAGE(failures.empty(), failures.text());
  }
}

TEST_CASE("observation operators keep the ObservationOperator contract") {
  Catalog c;
  c.built["qg"] = c.make<assim::Model>("model.qg");
  c.built["arctan"] = c.make<assim::ObservationOperator>("obs.arctan");
  c.built["sine"] = c.make<assim::ObservationOperator>("obs.sin");
  // obs.python: the Python twin of obs.arctan, run by the embedded interpreter.
  for (const char* type : {"obs.identity", "obs.arctan", "obs.sin", "obs.stack", "obs.interpolate", "obs.python"}) {
    CAPTURE(type);
    const auto failures = assim::testing::check_observation_operator(*c.make<assim::ObservationOperator>(type), {2, 16, 16});
    CHECK_MESSAGE(failures.empty(), failures.text());
  }
  // The velocity operator inverts normalised PV (multiplied by its state_scale first).
  const auto failures =
      assim::testing::check_observation_operator(*c.make<assim::ObservationOperator>("obs.velocity"), {2, 16, 16});
  CHECK_MESSAGE(failures.empty(), failures.text());
}

TEST_CASE("priors keep the Prior contract") {
  Catalog c;
  for (const char* type : {"prior.gaussian", "prior.score_unet"}) {
    CAPTURE(type);
    const auto failures = assim::testing::check_prior(*c.make<assim::Prior>(type), {3, 2, 16, 16});
    CHECK_MESSAGE(failures.empty(), failures.text());
  }
}

TEST_CASE("samplers keep the Sampler contract on a small window") {
  Catalog c;
  c.built["arctan"] = c.make<assim::ObservationOperator>("obs.arctan");
  const auto op = std::dynamic_pointer_cast<const assim::ObservationOperator>(c.built["arctan"]);
  assim::AssimilationProblem problem;
  problem.set_state(spec_of({2, 16, 16}));
  problem.set_observation_operator(op);
  const at::Tensor truth = at::randn({3, 2, 16, 16}, at::kDouble);
  problem.set_observations(op->apply(truth));
  problem.set_mask(at::ones_like(problem.observations()));
  problem.set_observation_sigma(0.1);

  SUBCASE("sampler.sda with a Gaussian prior") {
    assim::AssimilationProblem p = problem;
    p.set_prior(c.make<assim::Prior>("prior.gaussian"));
    const auto failures = assim::testing::check_sampler(*c.make<assim::Sampler>("sampler.sda"), p, 4);
    CHECK_MESSAGE(failures.empty(), failures.text());
  }
  SUBCASE("sampler.soad with an (untrained) prior over z = (x, H(x))") {
    assim::AssimilationProblem p = problem;
    p.set_prior(
        c.make<assim::Prior>("prior.score_unet", with_keys(c.settings.at("prior.score_unet"), "{augment_with: $arctan}")));
    const auto failures = assim::testing::check_sampler(*c.make<assim::Sampler>("sampler.soad"), p, 4);
    CHECK_MESSAGE(failures.empty(), failures.text());
  }
  SUBCASE("sampler.enkf on one frame with a forecast ensemble") {
    assim::AssimilationProblem p = problem;
    p.set_observations(problem.observations().slice(0, 0, 1));
    p.set_mask(problem.mask().slice(0, 0, 1));
    p.set_forecast(truth[0].unsqueeze(0) + 0.3 * at::randn({6, 2, 16, 16}, at::kDouble));
    const auto failures = assim::testing::check_sampler(*c.make<assim::Sampler>("sampler.enkf"), p, 6);
    CHECK_MESSAGE(failures.empty(), failures.text());
    // The LETKF declares its local analyses: the contract then analyses two
    // halves of the grid apart (inflation and rotation included).
    const auto letkf = c.make<assim::Sampler>(
        "sampler.enkf", "{method: letkf, localisation: {radius: 2}, inflation: {posterior_anomalies: 1.1}, rotate: true}");
    REQUIRE(letkf->needs().local);
    const auto local = assim::testing::check_sampler(*letkf, p, 6);
    CHECK_MESSAGE(local.empty(), local.text());
  }
  SUBCASE("sampler.particle on one frame with a forecast ensemble") {
    assim::AssimilationProblem p = problem;
    p.set_observations(problem.observations().slice(0, 0, 1));
    p.set_mask(problem.mask().slice(0, 0, 1));
    p.set_forecast(truth[0].unsqueeze(0) + 0.3 * at::randn({6, 2, 16, 16}, at::kDouble));
    const auto failures = assim::testing::check_sampler(*c.make<assim::Sampler>("sampler.particle"), p, 6);
    CHECK_MESSAGE(failures.empty(), failures.text());
  }
  SUBCASE("sampler.ensf on one frame with a forecast ensemble") {
    assim::AssimilationProblem p = problem;
    p.set_observations(problem.observations().slice(0, 0, 1));
    p.set_mask(problem.mask().slice(0, 0, 1));
    p.set_forecast(truth[0].unsqueeze(0) + 0.3 * at::randn({6, 2, 16, 16}, at::kDouble));
    const auto failures = assim::testing::check_sampler(*c.make<assim::Sampler>("sampler.ensf"), p, 6);
    CHECK_MESSAGE(failures.empty(), failures.text());
  }
  SUBCASE("sampler.estimator, fitted for one epoch on pairs like the window") {
    const auto estimator = c.make<assim::Sampler>("sampler.estimator");
    assim::EstimatorData data;
    data.set_state(problem.state()).set_observation_operator(op).set_pairs_per_epoch(4);
    data.set_draw([&](std::int64_t count, std::uint64_t) {
      assim::TrainingPairs pairs;
      pairs.states = at::randn({count, 3, 2, 16, 16}, at::kDouble);
      pairs.mask = at::ones_like(pairs.states);
      pairs.observations = op->apply(pairs.states);
      return pairs;
    });
    assim::TrainingOptions options;
    options.epochs = 1;
    options.batch_size = 4;
    const auto folder = std::filesystem::temp_directory_path() / ("contracts-estimator-" + std::to_string(::getpid()));
    options.checkpoints = folder / "checkpoints";
    options.output = folder / "output";
    estimator->fit(data, options);
    std::filesystem::remove_all(folder);
    const auto failures = assim::testing::check_sampler(*estimator, problem, 1);
    CHECK_MESSAGE(failures.empty(), failures.text());
  }
  SUBCASE("sampler.var4d through Lorenz-96's differentiable step") {
    assim::AssimilationProblem p;
    const auto model = c.make<assim::Model>("model.lorenz96");
    p.set_state(model->state_spec());
    p.set_model(model);
    p.set_frame_steps(2);
    p.set_observation_operator(c.make<assim::ObservationOperator>("obs.identity"));
    const at::Tensor start = model->initial_state(1, 3) + 2;
    const at::Tensor truth = model->differentiable_trajectory(start, 3, 2)[0];
    p.set_observations(truth + 0.5 * at::randn(truth.sizes(), at::kDouble));
    p.set_mask(at::ones_like(p.observations()));
    p.set_observation_sigma(0.5);
    p.set_background(start[0]);
    p.set_background_sigma(1);
    const auto failures = assim::testing::check_sampler(*c.make<assim::Sampler>("sampler.var4d"), p, 3);
    CHECK_MESSAGE(failures.empty(), failures.text());
  }
}

namespace {

// Implementations that break one promise each, to show the suites catch it.
class Leaky : public assim::ObservationOperator {
 public:
  at::Tensor apply(const at::Tensor& x) const override { return x.detach().pow(2); }  // autograd cut
  bool linear() const override { return true; }                                       // and not linear
};

class Coupled : public assim::Model {
 public:
  assim::StateSpec state_spec() const override { return {"x", "x", "1", {{"site", 4, "1", 1.0}}, 1.0, "1"}; }
  at::Tensor initial_state(std::int64_t members, std::uint64_t) const override {  // ignores the seed
    return at::arange(members * 4, at::kDouble).reshape({members, 4});
  }
  struct Run : assim::Trajectory {
    at::Tensor x;
    std::int64_t n = 0;
    void advance(std::int64_t steps) override {
      for (std::int64_t s = 0; s < steps; ++s, ++n) x = x + x.mean(0, true);  // members interact
    }
    at::Tensor state() const override { return x; }
    std::int64_t steps_taken() const override { return n; }
  };
  std::unique_ptr<assim::Trajectory> start(const at::Tensor& states) const override {
    auto run = std::make_unique<Run>();
    run->x = states.clone();
    return run;
  }
  // The stepper's values, but autograd misses the coupling: a wrong adjoint.
  bool differentiable() const override { return true; }
  at::Tensor differentiable_trajectory(const at::Tensor& states, std::int64_t frames,
                                       std::int64_t frame_steps) const override {
    std::vector<at::Tensor> out{states};
    at::Tensor x = states;
    for (std::int64_t k = 1; k < frames; ++k) {
      for (std::int64_t s = 0; s < frame_steps; ++s) x = x + x.mean(0, true).detach();
      out.push_back(x);
    }
    return at::stack(out, 1);
  }
};

bool mentions(const assim::testing::Failures& f, const std::string& text) {
  return f.text().find(text) != std::string::npos;
}

}  // namespace

TEST_CASE("the contract suites catch broken implementations") {
  const auto op = assim::testing::check_observation_operator(Leaky(), {2, 4, 4});
  CHECK(mentions(op, "not differentiable by autograd"));
  CHECK(mentions(op, "linear() is true, but"));
  const auto model = assim::testing::check_model(Coupled());
  CHECK(mentions(model, "is the same for seeds 7 and 8"));
  CHECK(mentions(model, "advanced alone differs"));
  CHECK_FALSE(mentions(model, "differs from start/advance"));
  CHECK(mentions(model, "the adjoint of differentiable_trajectory"));
}
