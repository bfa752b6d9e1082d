// Pieces every score-based sampler needs (sampler.sda and sampler.soad use them):
// the checked view of an assimilation problem, the seeded noise source, the
// Langevin move of SDA's corrector, the caps on the guidance step, the
// finiteness check that turns a NaN into a DivergenceError naming the
// diffusion step, and the one predictor-corrector loop both run.
#pragma once

#include <assim/abi.hpp>
#include <assim/diffusion.hpp>
#include <assim/sampler.hpp>
#include <assim/shape.hpp>

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace assim::score {

// The problem as the samplers use it, checked once.
struct ASSIM_TOOLKIT Window {
  std::int64_t frames = 0;              // L
  std::vector<std::int64_t> state;      // state dims (C, y, x)
  std::vector<std::int64_t> observed;   // observation dims (C_H, y, x)
  at::TensorOptions options;            // dtype and device of the work
  // (L, obs dims): y with unobserved entries set to 0 (they may hold NaN)
  // and the mask as 0 / 1 in the work dtype.
  at::Tensor y, mask;
  double sigma_o = 0;
  std::optional<at::Tensor> background;  // (state dims), work dtype
  double sigma_b = 0;
};

// Checks shapes, noise levels and finiteness of the observed entries; the
// work dtype is that of the observations (float32 or float64), so a float64
// problem runs in float64 end to end. `who` prefixes every message.
ASSIM_TOOLKIT Window window_of(const AssimilationProblem& problem, const std::string& who);

// N(0, I) draws from one CPU generator seeded by the caller's seed, moved to
// the work device: the same seed gives the same samples on any device and
// for any denoiser batch size.
class ASSIM_TOOLKIT Noise {
 public:
  Noise(std::uint64_t seed, at::TensorOptions options);
  at::Tensor normal(at::IntArrayRef shape);

 private:
  at::Generator generator_;
  at::TensorOptions options_;
};

// mean(eps^2) over all but the first (member) dim, shaped to broadcast.
ASSIM_TOOLKIT at::Tensor per_member_mean_square(const at::Tensor& eps);

// The guidance step scaled so that none of a member's entries exceeds 1 in
// absolute value (SOAD's clip c_t <- min(c_t, 1 / max|grad L|), a
// stabiliser; reference doc, "SOAD"). The max is per member, not over the
// batch as in the reference code, so that members stay independent draws
// and the result does not depend on how members are batched.
ASSIM_TOOLKIT at::Tensor clip_per_member(const at::Tensor& step);

// The guidance step of each member scaled by min(1, limit / magnitude),
// magnitude (members) a size of that member's step: its max entry is the
// clip (limit 1), a high quantile of its entries a cap that one outlier does
// not set. Members whose magnitude is 0 are left as they are.
ASSIM_TOOLKIT at::Tensor cap_per_member(const at::Tensor& step, const at::Tensor& magnitude, double limit);

// When a predictor-corrector sampler evaluates its guided noise prediction
// (a network call each). K steps, N_c Langevin moves per step:
enum class Guidance {
  kFresh,       // fresh for the predictor and for every move: K (1 + N_c) calls
  kAlgorithm1,  // SOAD's Algorithm 1 (line 13): fresh for the predictor, then one at s, after the
                // predictor and the corrector, for all N_c moves: 2K calls (K when N_c = 0)
  kStale,       // the SOAD reference code: one per step, at s after the predictor and the
                // corrector, for the N_c moves and the next predictor: K + 1 calls (K when N_c = 0)
};

// The schedules by the names the samplers' `guidance` setting takes.
ASSIM_TOOLKIT std::vector<std::pair<std::string, Guidance>> guidance_names();

struct ReverseDiffusion {
  int steps = 64;        // K, on linspace(1, 0, K + 1)
  int corrections = 0;   // N_c Langevin moves after each predictor step
  double tau = 0.25;     // Langevin step factor
  Guidance guidance = Guidance::kFresh;
};

// x from t = 1 down to t = 0: each step the exponential-integrator predictor
// t -> s with eps(x, t), then correct(x, s), then N_c Langevin moves at s,
// each followed by correct(x, s). eps(x, t) is the guided noise prediction
// (a network call), correct the data corrector (the identity for SDA, the
// forward-diffusion corrector for SOAD). Throws DivergenceError naming the
// step where x stops being finite; logs progress as `who`.
ASSIM_TOOLKIT at::Tensor reverse_diffusion(const CosineSchedule& schedule, const ReverseDiffusion& settings, at::Tensor x,
                                       const std::function<at::Tensor(const at::Tensor&, double)>& eps,
                                       const std::function<at::Tensor(at::Tensor, double)>& correct, Noise& noise,
                                       const std::string& who);

// Langevin move at noise level sigma (SDA's corrector, reference doc
// "Langevin corrector"): delta = tau / mean(eps^2) per member,
// x <- x - sigma (delta eps + sqrt(2 delta) z). eps = -sigma * score, so this
// is x + a score + sqrt(2 a) z with step a = delta sigma^2.
ASSIM_TOOLKIT at::Tensor langevin(const at::Tensor& x, const at::Tensor& eps, double sigma, double tau, Noise& noise);

// Calls f(first, count) on consecutive chunks of at most `batch` members and
// concatenates the results along dim 0.
ASSIM_TOOLKIT at::Tensor by_chunks(std::int64_t members, std::int64_t batch,
                     const std::function<at::Tensor(std::int64_t, std::int64_t)>& f);

// Throws DivergenceError(step, ...) when x has a non-finite entry. `step` is
// the 1-based diffusion step t -> s in which it appeared.
ASSIM_TOOLKIT void check_finite(const at::Tensor& x, long step, double t, double s, const std::string& who);

}  // namespace assim::score
