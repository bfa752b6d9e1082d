// Seconds per assimilated window of the real samplers sampler.soad and
// sampler.sda (soad_core, sda_core) on prior.score_unet networks with random
// weights: 2 layers on an n x n grid, a window of L frames, y = arctan(3 x) +
// N(0, sigma_o^2) on the whole grid every frame, a background at frame 0.
// score_sampling_bench.py runs this and the same loops in PyTorch and prints
// the ratios (README.md).
//
//   score_sampling_bench [--channels 16,32,64] [--blocks 2] [--kernel 3] [--grid 32] [--window 9]
//                        [--steps 8] [--corrections 0] [--members 1,4] [--threads 1,2] [--repeats 1]
//                        [--check FILE]
//
// Timing lines: "time <sampler> threads T members M seconds S" (one window of
// `steps` steps, the least of `repeats`, after a 1-step warm-up). With
// --check FILE it only writes the weights of both networks, the problem and
// 2 members of each sampler (seed 7, 1 thread) to FILE (torch.load reads it),
// so that the Python loops can be compared with these on the same inputs.
#include "operators.hpp"
#include "score_prior.hpp"
#include "sda.hpp"
#include "soad.hpp"

#include <assim/testing/config.hpp>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <assim/process.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;

constexpr double kSigmaO = 0.1, kSigmaB = 0.1;

struct Settings {
  std::vector<std::int64_t> channels{16, 32, 64};
  std::int64_t blocks = 2, kernel = 3, grid = 32, window = 9;
  int steps = 8, corrections = 0, repeats = 1;
  std::vector<std::int64_t> members{1, 4}, threads{1, 2};
  std::string check;
};

std::vector<std::int64_t> integers(const std::string& text) {
  std::vector<std::int64_t> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) out.push_back(std::stoll(item));
  return out;
}

std::string yaml_list(const std::vector<std::int64_t>& v) {
  std::string out = "[";
  for (std::size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + std::to_string(v[i]);
  return out + "]";
}

// prior.score_unet over states (h null) or over z = (x, h(x)), weights drawn
// from torch's default generator seeded with 0: sampling speed does not
// depend on training.
std::shared_ptr<assim::score_prior::ScorePrior> make_prior(const Settings& s,
                                                    const std::shared_ptr<assim::ObservationOperator>& h) {
  std::string yaml = "state_shape: " + yaml_list({2, s.grid, s.grid}) + "\nwindow: " + std::to_string(s.window) +
                     "\nchannels: " + yaml_list(s.channels) + "\nblocks: " + std::to_string(s.blocks) +
                     "\nkernel: " + std::to_string(s.kernel) + "\n";
  std::map<std::string, std::shared_ptr<assim::Component>> components;
  if (h) {
    yaml += "augment_with: $h\n";
    components["h"] = h;
  }
  torch::manual_seed(0);
  return std::make_shared<assim::score_prior::ScorePrior>(
      assim::config_from_yaml(yaml, assim::score_prior::ScorePrior::parameters(), "<score_sampling_bench>", components));
}

// float32 throughout (the work dtype is the observations').
struct Data {
  at::Tensor truth, y, background;
};

Data make_data(const Settings& s, const assim::ObservationOperator& h) {
  at::Generator g = at::make_generator<at::CPUGeneratorImpl>(1);
  Data d;
  d.truth = at::randn({s.window, 2, s.grid, s.grid}, g, at::kFloat);
  d.y = h.apply(d.truth) + kSigmaO * at::randn(d.truth.sizes(), g, at::kFloat);
  d.background = d.truth[0] + kSigmaB * at::randn(d.truth[0].sizes(), g, at::kFloat);
  return d;
}

assim::AssimilationProblem make_problem(const Settings& s, const Data& d,
                                        std::shared_ptr<const assim::ObservationOperator> h,
                                        std::shared_ptr<const assim::Prior> prior) {
  assim::AssimilationProblem p;
  assim::StateSpec state;
  state.variable = "q";
  state.units = "1";
  state.dims = {{"layer", 2, "", 0.0}, {"y", s.grid, "1", 1.0}, {"x", s.grid, "1", 1.0}};
  p.set_state(state);
  p.set_observation_operator(std::move(h));
  p.set_observations(d.y);
  p.set_mask(at::ones_like(d.y));
  p.set_observation_sigma(kSigmaO);
  p.set_background(d.background);
  p.set_background_sigma(kSigmaB);
  p.set_prior(std::move(prior));
  return p;
}

assim::soad::AugmentedSampler soad(const Settings& s, int steps) {
  assim::soad::Options o;  // defaults otherwise: tau 0.25, sigma_z 1, clip, forward corrector
  o.steps = steps;
  o.corrections = s.corrections;
  o.guidance = assim::score::Guidance::kFresh;  // a fresh pi per move, as the PyTorch loop beside it
  return assim::soad::AugmentedSampler(o);
}

assim::sda::ScoreBasedSampler sda(const Settings& s, int steps) {
  assim::sda::Options o;  // defaults otherwise: tau 0.5, gamma 1e-2
  o.steps = steps;
  o.corrections = s.corrections;
  return assim::sda::ScoreBasedSampler(o);
}

void put_weights(c10::Dict<std::string, at::Tensor>& out, const std::string& prefix,
                 const assim::score_prior::ScorePrior& prior) {
  for (const auto& p : prior.network()->named_parameters()) out.insert(prefix + p.key(), p.value().detach().clone());
}

}  // namespace

int main(int argc, char** argv) {
  assim::prepare_process();  // as the host does: malloc policy, ATen's AVX-512 kernels where the CPU has them
  Settings s;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string key = argv[i], value = argv[i + 1];
    if (key == "--channels") {
      s.channels = integers(value);
    } else if (key == "--blocks") {
      s.blocks = std::stoll(value);
    } else if (key == "--kernel") {
      s.kernel = std::stoll(value);
    } else if (key == "--grid") {
      s.grid = std::stoll(value);
    } else if (key == "--window") {
      s.window = std::stoll(value);
    } else if (key == "--steps") {
      s.steps = std::stoi(value);
    } else if (key == "--corrections") {
      s.corrections = std::stoi(value);
    } else if (key == "--repeats") {
      s.repeats = std::stoi(value);
    } else if (key == "--members") {
      s.members = integers(value);
    } else if (key == "--threads") {
      s.threads = integers(value);
    } else if (key == "--check") {
      s.check = value;
    } else {
      std::fprintf(stderr, "unknown option %s\n", key.c_str());
      return 2;
    }
  }
  const auto h = std::make_shared<assim::observations::Arctan>(
      assim::config_from_yaml("scale: 3\n", assim::observations::Arctan::parameters()));
  const auto augmented = make_prior(s, h), plain = make_prior(s, nullptr);
  const Data data = make_data(s, *h);
  const assim::AssimilationProblem soad_problem = make_problem(s, data, h, augmented);
  const assim::AssimilationProblem sda_problem = make_problem(s, data, h, plain);
  std::printf("parameters soad %lld sda %lld\n", static_cast<long long>(augmented->network()->parameter_count()),
              static_cast<long long>(plain->network()->parameter_count()));

  if (!s.check.empty()) {
    torch::set_num_threads(1);
    c10::Dict<std::string, at::Tensor> out;
    put_weights(out, "soad.", *augmented);
    put_weights(out, "sda.", *plain);
    out.insert("truth", data.truth);
    out.insert("y", data.y);
    out.insert("background", data.background);
    out.insert("soad_samples", soad(s, s.steps).sample(soad_problem, 2, 7));
    out.insert("sda_samples", sda(s, s.steps).sample(sda_problem, 2, 7));
    const std::vector<char> bytes = torch::pickle_save(c10::IValue(out));
    std::ofstream file(s.check, std::ios::binary);
    file.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!file) {
      std::fprintf(stderr, "cannot write %s\n", s.check.c_str());
      return 1;
    }
    return 0;
  }

  for (const std::int64_t threads : s.threads) {
    torch::set_num_threads(static_cast<int>(threads));
    for (const std::int64_t members : s.members) {
      for (const std::string name : {"soad", "sda"}) {
        auto run = [&](int steps) {
          if (name == "soad") return soad(s, steps).sample(soad_problem, members, 1);
          return sda(s, steps).sample(sda_problem, members, 1);
        };
        run(1);  // warm-up: allocations, first autograd graph
        double best = std::numeric_limits<double>::infinity();
        for (int r = 0; r < s.repeats; ++r) {
          const auto start = clock_type::now();
          const at::Tensor x = run(s.steps);
          best = std::min(best, std::chrono::duration<double>(clock_type::now() - start).count());
          if (!at::isfinite(x).all().item<bool>()) {
            std::fprintf(stderr, "%s: samples not finite\n", name.c_str());
            return 1;
          }
        }
        std::printf("time %s threads %lld members %lld seconds %.4f\n", name.c_str(), static_cast<long long>(threads),
                    static_cast<long long>(members), best);
        std::fflush(stdout);
      }
    }
  }
  return 0;
}
