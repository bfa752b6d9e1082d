#include "gaussian.hpp"

#include <assim/error.hpp>
#include <assim/fields.hpp>
#include <assim/shape.hpp>

#include <ATen/ATen.h>

#include <string>

namespace assim::gaussian_prior {

namespace {

struct Options {
  std::vector<std::int64_t> shape;  // required: no default
  double mean = 0.0;
  std::vector<double> covariance{1.0};
};

// Each setting bound to the Options field it fills (whose initial value is
// the default). Fields gives every bound field a default; `shape` must be
// given, so its declaration is made required.
assim::Fields<Options> fields() {
  assim::Fields<Options> p;
  assim::Parameter& shape =
      p.integers("shape", &Options::shape, "", "event shape [frames, channels, y, x] of the windows the prior is over")
          .at_least(1);
  shape.presence = assim::Presence::Required;
  shape.default_value.clear();
  p.real("mean", &Options::mean, "", "m: the mean of every element");
  p.reals("covariance", &Options::covariance, "",
          "one value: the variance of every element; one per channel: a diagonal covariance; "
          "n*n values (n = frames*channels*y*x): a dense covariance, row-major over the flattened event; "
          "b*b values (b = frames*channels): a dense covariance over (frame, channel), row-major, the same at "
          "every grid point and independent between points");
  return p;
}

}  // namespace

assim::Parameters GaussianPrior::parameters() { return fields().parameters(); }

GaussianPrior::GaussianPrior(const assim::Config& config) {
  const Options options = fields().read(config);
  shape_ = options.shape;
  if (shape_.size() != 4)
    config.fail("shape", "needs 4 entries [frames, channels, y, x], got " + std::to_string(shape_.size()));
  size_ = shape_[0] * shape_[1] * shape_[2] * shape_[3];
  mean_ = options.mean;

  const std::vector<double>& cov = options.covariance;
  const auto count = static_cast<std::int64_t>(cov.size());
  const std::int64_t channels = shape_[1];
  const auto f64 = at::TensorOptions().dtype(at::kDouble);
  if (count == 1 || count == channels) {
    for (double v : cov)
      if (!(v > 0)) config.fail("covariance", "variances must be > 0, got " + std::to_string(v));
    variance_ = at::tensor(cov, f64).reshape({1, 1, count, 1, 1});
  } else if (count == size_ * size_ || count == shape_[0] * channels * shape_[0] * channels) {
    // Dense over the whole event is one block of every element at one point.
    block_ = count == size_ * size_ ? size_ : shape_[0] * channels;
    const at::Tensor sigma = at::tensor(cov, f64).reshape({block_, block_});
    const double scale = sigma.abs().max().item<double>();
    if (!at::allclose(sigma, sigma.t(), 0, 1e-12 * scale))
      config.fail("covariance", "the dense covariance is not symmetric");
    auto [values, vectors] = at::linalg_eigh(sigma);
    // A singular Sigma is still a valid prior here (sigma_t^2 > 0 keeps the
    // inverse finite); a negative eigenvalue is not a covariance at all.
    const double smallest = values.min().item<double>();
    if (smallest < -1e-12 * scale)
      config.fail("covariance", "the dense covariance is not positive semi-definite (eigenvalue " +
                                    std::to_string(smallest) + ")");
    eigenvalues_ = values.clamp_min(0);
    eigenvectors_ = vectors;
  } else {
    const std::int64_t block = shape_[0] * channels;
    const std::string per_point =
        block == size_ ? "" : " or " + std::to_string(block * block) + " (a dense matrix over frames and channels, the same at every grid point)";
    config.fail("covariance", "has " + std::to_string(count) + " values; expected 1 (a variance), " +
                                  std::to_string(channels) + " (one per channel) or " +
                                  std::to_string(size_ * size_) + " (a dense " + std::to_string(size_) + " x " +
                                  std::to_string(size_) + " matrix for the event shape " + assim::shape_text(shape_) +
                                  ")" + per_point);
  }
}

at::Tensor GaussianPrior::covariance() const {
  if (eigenvectors_.defined()) {
    const at::Tensor block = eigenvectors_.matmul(at::diag(eigenvalues_)).matmul(eigenvectors_.t());
    // Element (block index k, point j) is at k * points + j in the row-major event.
    return at::kron(block, at::eye(size_ / block_, at::TensorOptions().dtype(at::kDouble)));
  }
  return at::diag(variance_.expand({1, shape_[0], shape_[1], shape_[2], shape_[3]}).reshape({size_}));
}

at::Tensor GaussianPrior::denoise(const at::Tensor& z_t, const at::Tensor& t) const {
  if (z_t.dim() != 5 || z_t.sizes().slice(1) != at::IntArrayRef(shape_))
    throw assim::Error("prior.gaussian: z_t must have shape (batch, " + assim::shape_text(shape_).substr(1) +
                       ", got " + assim::shape_text(z_t.sizes()));
  const std::int64_t batch = z_t.size(0);
  if (t.numel() != batch)
    throw assim::Error("prior.gaussian: t must have shape (batch) = (" + std::to_string(batch) + "), got " +
                       assim::shape_text(t.sizes()));
  // float64 throughout: the sampler tests compare against a Kalman posterior
  // to a tolerance tighter than float32 would allow.
  const at::Tensor z = z_t.to(at::kDouble);
  const at::Tensor tt = t.to(at::kDouble).reshape({batch});
  const at::Tensor mu = schedule_.mu(tt), sigma = schedule_.sigma(tt);
  if (eigenvectors_.defined()) {
    // (batch, points, block): one block vector per grid point (one point when dense over the event).
    const at::Tensor r =
        (z - mu.reshape({batch, 1, 1, 1, 1}) * mean_).reshape({batch, block_, size_ / block_}).transpose(1, 2);
    // (mu^2 Sigma + sigma^2 I)^{-1} r = U diag(1 / (mu^2 lambda + sigma^2)) U^T r, per sample and point.
    const at::Tensor inv = 1 / (mu.square().reshape({batch, 1, 1}) * eigenvalues_ + sigma.square().reshape({batch, 1, 1}));
    const at::Tensor solved = (r.matmul(eigenvectors_) * inv).matmul(eigenvectors_.t());
    return (sigma.reshape({batch, 1, 1}) * solved).transpose(1, 2).reshape(z_t.sizes()).to(z_t.scalar_type());
  }
  const at::Tensor m5 = mu.reshape({batch, 1, 1, 1, 1}), s5 = sigma.reshape({batch, 1, 1, 1, 1});
  return (s5 * (z - m5 * mean_) / (m5.square() * variance_ + s5.square())).to(z_t.scalar_type());
}

}  // namespace assim::gaussian_prior
