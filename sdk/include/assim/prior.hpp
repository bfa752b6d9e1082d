// A prior over windows of states (or of augmented states z = (x, H(x)), the
// SOAD construction) given as a diffusion denoiser: eps_hat(z_t, t) predicts
// the noise in z_t at diffusion time t (see diffusion.hpp for the schedule).
// Learned (a U-Net fitted by the `train` stage) or analytic (a Gaussian
// whose score is exact: the oracle of sampler tests).
#pragma once

#include <assim/component.hpp>
#include <assim/observation_operator.hpp>

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace assim {

// Normalised training data for a learned prior. Pieces are runs of
// consecutive frames (the papers' 32-day pieces) from which the prior draws
// its own windows; the state dims are the model's (channels such as layers
// first, where it has them), already divided by `scale` per channel.
struct ASSIM_API TrainingData {
  ~TrainingData();
  at::Tensor train;       // (pieces, frames, state dims...), float32
  at::Tensor validation;  // same layout; may have zero pieces
  at::Tensor scale;       // (channels): the per-channel std the states were divided by
};

struct ASSIM_API TrainingOptions {
  std::int64_t epochs = 10;
  std::int64_t batch_size = 8;
  double learning_rate = 2e-4;   // AdamW, decayed linearly to 0 over the epochs
  double weight_decay = 1e-5;
  // Decay of an exponential moving average of the weights, updated after
  // every optimiser step; the average is what is validated, selected and
  // written. 0: none, the weights themselves.
  double ema = 0;
  // Largest norm of the gradient (all weights together) an optimiser step
  // takes: a larger one is scaled down to it. 0: no clipping.
  double gradient_clip = 0;
  std::string device = "cpu";   // "cpu" or "cuda"
  std::uint64_t seed = 0;
  // Where the fit keeps checkpoints while it runs; it resumes from the last
  // one found there (a run killed half-way continues the same loss curve).
  std::filesystem::path checkpoints;
  // Where the fitted prior is written; `load` reads it back.
  std::filesystem::path output;
};

class ASSIM_API Prior : public Component {
 public:
  static constexpr Kind kind = Kind::Prior;
  ~Prior() override;

  // z_t has shape (batch, frames, z dims...) (z = x, or (x, H(x)) stacked on
  // the state's channels); t shape (batch) with values in [0, 1]. Returns
  // eps_hat of the shape of z_t.
  virtual at::Tensor denoise(const at::Tensor& z_t, const at::Tensor& t) const = 0;

  // The operator H whose output the prior carries along with the state
  // (SOAD's augmented z = (x, H(x))), or nullptr for a prior of x alone.
  virtual std::shared_ptr<const ObservationOperator> augmentation() const;

  // The shape (frames, state dims...) of the only windows it is over, when
  // its settings fix one (an analytic prior's event shape); empty: it says
  // none, or takes several. Compared with the observed windows before any
  // stage runs.
  virtual std::vector<std::int64_t> window_shape() const;

  // Learned priors fit to data and load what a fit wrote. The defaults
  // refuse: an analytic prior has nothing to learn.
  virtual bool learned() const;
  virtual void fit(const TrainingData& data, const TrainingOptions& options);
  virtual void load(const std::filesystem::path& folder);
};

}  // namespace assim
