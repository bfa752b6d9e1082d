#include "enkf.hpp"

#include <Eigen/Cholesky>
#include <Eigen/Eigenvalues>
#include <Eigen/QR>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace assim::enkf {

namespace {

using Eigen::Index;
using Eigen::MatrixXd;
using Eigen::RowVectorXd;
using Eigen::VectorXd;

void require(bool condition, const std::string& message) {
  if (!condition) throw std::invalid_argument("enkf: " + message);
}

// The ETKF in ensemble space (Hunt et al. 2007, eqs. 20-25) with whitened
// anomalies Y = (HX - 1 mean(HX)) / sigma (members x obs) and innovation
// dy = (y - mean(HX)) / sigma:
//   C = Y Y^T + (N-1) I = V diag(d) V^T,
//   w = C^-1 Y dy                                        (mean weights),
//   T = sqrt(N-1) C^-1/2 = sqrt(N-1) V diag(d^-1/2) V^T  (symmetric square root).
// Returns G = 1 w^T + T, so that the analysis is E_a = 1 mu^T + G A.
// Y^T 1 = 0 gives C 1 = (N-1) 1, hence T 1 = 1 and 1^T T A = 0: the
// transform leaves the anomalies centred, so the mean moves by w^T A only.
MatrixXd etkf_transform(const MatrixXd& Y, const VectorXd& dy) {
  const Index N = Y.rows();
  const double n1 = static_cast<double>(N - 1);
  MatrixXd C = MatrixXd::Identity(N, N) * n1;
  C.selfadjointView<Eigen::Lower>().rankUpdate(Y);
  const Eigen::SelfAdjointEigenSolver<MatrixXd> eig(C.selfadjointView<Eigen::Lower>());
  const MatrixXd& V = eig.eigenvectors();
  const VectorXd& d = eig.eigenvalues();  // all >= N-1 > 0
  const VectorXd w = V * (d.cwiseInverse().asDiagonal() * (V.transpose() * (Y * dy)));
  MatrixXd G = V * (d.cwiseSqrt().cwiseInverse() * std::sqrt(n1)).asDiagonal() * V.transpose();
  G.rowwise() += w.transpose();
  return G;
}

// The ETKF after multiplying the prior anomalies by `inflation`: both the
// state anomalies A and their images Y scale, so the transform is that of
// inflation * Y applied to inflation * A. Returns G with E_a = 1 mu^T + G A.
MatrixXd inflated_etkf_transform(const MatrixXd& Y, const VectorXd& dy, double inflation) {
  if (inflation == 1) return etkf_transform(Y, dy);
  return etkf_transform(inflation * Y, dy) * inflation;
}

// Stochastic EnKF (Burgers et al. 1998) as DAPPER writes it, with centred
// observation perturbations D ~ N(0, R) (rows per member):
//   E_a = E + (1 y^T - D - HX) K^T,  K = A^T Y' (Y'^T Y' + (N-1) R)^-1,
// Y' the unwhitened anomalies. With R = sigma^2 I and the push-through
// identity Y^T (Y Y^T + (N-1) I)^-1 = (Y^T Y + (N-1) I)^-1 Y^T this becomes an
// N x N problem: E_a = E + S (Y Y^T + (N-1) I)^-1 A, S = (1 y^T - D - HX) Y^T / sigma
// with Y whitened. Centring D makes the mean update the exact Kalman update
// for the sample covariance.
MatrixXd pertobs_transform(const MatrixXd& Y, ConstEnsemble predicted, const VectorXd& y, double sigma,
                           Rng& rng) {
  const Index N = Y.rows(), p = Y.cols();
  std::normal_distribution<double> normal;
  MatrixXd D(N, p);
  for (Index i = 0; i < N; ++i)
    for (Index k = 0; k < p; ++k) D(i, k) = normal(rng);
  D.rowwise() -= D.colwise().mean();
  const MatrixXd innovations = ((-predicted).rowwise() + y.transpose()) / sigma - D;
  const MatrixXd S = innovations * Y.transpose();
  MatrixXd C = MatrixXd::Identity(N, N) * static_cast<double>(N - 1);
  C.selfadjointView<Eigen::Lower>().rankUpdate(Y);
  // G = S C^-1 = (C^-1 S^T)^T since C is symmetric.
  MatrixXd G = C.selfadjointView<Eigen::Lower>().llt().solve(S.transpose()).transpose();
  G.diagonal().array() += 1.0;
  return G;
}

// Batches of grid points analysed together and the geometry to find their
// local observations. Coordinates are integer grid indices.
class LocalGeometry {
 public:
  static constexpr std::int64_t kMaxBatch = 64;

  struct Batch {
    std::vector<std::int64_t> lo, hi;      // the rectangle [lo, hi) of its points
    std::vector<std::int64_t> entries;     // state entries at its points
  };

  LocalGeometry(const Localisation& loc, Index state_size, Index observations) : extent_(loc.extent) {
    require(!extent_.empty() && extent_.size() <= 2, "localisation needs a grid of 1 or 2 dimensions");
    std::int64_t points = 1;
    for (auto e : extent_) {
      require(e > 0, "grid extents must be positive");
      points *= e;
    }
    require(static_cast<Index>(loc.state_point.size()) == state_size,
            "localisation: one grid point per state entry is needed");
    require(static_cast<Index>(loc.observation_point.size()) == observations,
            "localisation: one grid point per observation is needed");
    require(loc.radius > 0, "localisation radius must be positive");
    require(loc.batch >= 1 && loc.batch <= kMaxBatch, "localisation batch must lie in [1, 64]");
    // A positive cutoff leaves out every observation beyond the taper's
    // support, which is what lets `candidates` look only near a batch.
    require(loc.taper_cutoff > 0, "localisation taper cutoff must be positive");

    std::vector<std::vector<std::int64_t>> entries_at(points);
    for (std::size_t j = 0; j < loc.state_point.size(); ++j) {
      const auto p = loc.state_point[j];
      require(p >= 0 && p < points, "state grid point out of range");
      entries_at[p].push_back(static_cast<std::int64_t>(j));
    }
    off_grid_ = !loc.observation_coordinates.empty();
    require(!off_grid_ || loc.observation_coordinates.size() == loc.observation_point.size() * extent_.size(),
            "localisation: one coordinate per observation and grid dimension is needed");
    observation_coordinates_.reserve(loc.observation_point.size() * extent_.size());
    observations_at_.resize(static_cast<std::size_t>(points));
    for (std::size_t o = 0; o < loc.observation_point.size(); ++o) {
      auto p = loc.observation_point[o];
      require(p >= 0 && p < points, "observation grid point out of range");
      observations_at_[static_cast<std::size_t>(p)].push_back(static_cast<Index>(o));
      if (off_grid_) {
        const auto first = loc.observation_coordinates.begin() + static_cast<std::ptrdiff_t>(o * extent_.size());
        observation_coordinates_.insert(observation_coordinates_.end(), first,
                                        first + static_cast<std::ptrdiff_t>(extent_.size()));
        continue;
      }
      for (std::size_t k = extent_.size(); k-- > 0;) {
        observation_coordinates_.push_back(static_cast<double>(p % extent_[k]));
        p /= extent_[k];
      }
      std::reverse(observation_coordinates_.end() - static_cast<std::ptrdiff_t>(extent_.size()),
                   observation_coordinates_.end());
    }
    make_batches(loc.batch, entries_at);
  }

  const std::vector<Batch>& batches() const { return batches_; }

  // The observations at grid points within `support` of the batch in every
  // dimension, in ascending order (the order a scan of all observations
  // would find them, so the local analysis sums in the same order): the
  // only ones `distance` can put inside the support. Scanning every
  // observation for every batch made the LETKF grow as the square of the
  // grid's points (n^3.4 at n = 256).
  void candidates(const Batch& batch, double support, std::vector<Index>& out) const {
    const std::size_t dims = extent_.size();
    // Integer offsets d with d < support; an observation between grid points
    // is binned at its nearest, up to half a point nearer than that point.
    const auto reach = static_cast<std::int64_t>(std::ceil(support)) - (off_grid_ ? 0 : 1);
    std::vector<std::int64_t> coordinates[2];
    for (std::size_t k = 0; k < dims; ++k) {
      const std::int64_t lo = batch.lo[k] - reach, hi = batch.hi[k] + reach;
      if (hi - lo >= extent_[k]) {
        for (std::int64_t c = 0; c < extent_[k]; ++c) coordinates[k].push_back(c);
      } else {
        for (std::int64_t c = lo; c < hi; ++c) coordinates[k].push_back(((c % extent_[k]) + extent_[k]) % extent_[k]);
      }
    }
    out.clear();
    const auto gather = [&](std::int64_t flat) {
      const auto& here = observations_at_[static_cast<std::size_t>(flat)];
      out.insert(out.end(), here.begin(), here.end());
    };
    if (dims == 1) {
      for (auto c : coordinates[0]) gather(c);
    } else {
      for (auto c0 : coordinates[0])
        for (auto c1 : coordinates[1]) gather(c0 * extent_[1] + c1);
    }
    std::sort(out.begin(), out.end());
  }

  // DAPPER's batch-to-observation distance: the mean over the batch's points
  // of their distances to the observation (in 1-D with batches of 2, the
  // distance from the batch's centre). Returns infinity without computing it
  // when some dimension alone puts every point of the batch beyond `support`.
  double distance(const Batch& batch, Index observation, double support) const {
    const std::size_t dims = extent_.size();
    const double* o = &observation_coordinates_[static_cast<std::size_t>(observation) * dims];
    // Per dimension, the periodic offsets of the batch's coordinates.
    double offsets[2][kMaxBatch];
    std::int64_t count[2] = {0, 0};
    for (std::size_t k = 0; k < dims; ++k) {
      double nearest = std::numeric_limits<double>::infinity();
      for (std::int64_t a = batch.lo[k]; a < batch.hi[k]; ++a) {
        const double d = periodic(static_cast<double>(a) - o[k], static_cast<double>(extent_[k]));
        offsets[k][count[k]++] = d;
        nearest = std::min(nearest, d);
      }
      if (nearest >= support) return std::numeric_limits<double>::infinity();
    }
    double sum = 0;
    if (dims == 1) {
      for (std::int64_t i = 0; i < count[0]; ++i) sum += offsets[0][i];
      return sum / static_cast<double>(count[0]);
    }
    for (std::int64_t i = 0; i < count[0]; ++i)
      for (std::int64_t j = 0; j < count[1]; ++j)
        sum += std::sqrt(offsets[0][i] * offsets[0][i] + offsets[1][j] * offsets[1][j]);
    return sum / static_cast<double>(count[0] * count[1]);
  }

 private:
  // |d| taken modulo the extent, the shorter way round (exact for whole numbers).
  static double periodic(double d, double extent) {
    d = std::fmod(std::abs(d), extent);
    return std::min(d, extent - d);
  }

  // Rectangles of side `side` (smaller at the upper edges when the extent is
  // not a multiple), as DAPPER's rectangular partitioning.
  void make_batches(std::int64_t side, const std::vector<std::vector<std::int64_t>>& entries_at) {
    const std::size_t dims = extent_.size();
    std::vector<std::int64_t> chunk(dims, 0);
    for (;;) {
      Batch batch;
      for (std::size_t k = 0; k < dims; ++k) {
        batch.lo.push_back(chunk[k] * side);
        batch.hi.push_back(std::min(extent_[k], batch.lo[k] + side));
      }
      std::vector<std::int64_t> at = batch.lo;
      for (;;) {
        std::int64_t flat = 0;
        for (std::size_t k = 0; k < dims; ++k) flat = flat * extent_[k] + at[k];
        const auto& e = entries_at[flat];
        batch.entries.insert(batch.entries.end(), e.begin(), e.end());
        std::size_t k = dims;
        while (k-- > 0 && ++at[k] == batch.hi[k]) at[k] = batch.lo[k];
        if (k == static_cast<std::size_t>(-1)) break;
      }
      if (!batch.entries.empty()) batches_.push_back(std::move(batch));
      std::size_t k = dims;
      while (k-- > 0 && ++chunk[k] * side >= extent_[k]) chunk[k] = 0;
      if (k == static_cast<std::size_t>(-1)) break;
    }
  }

  std::vector<std::int64_t> extent_;
  bool off_grid_ = false;
  std::vector<double> observation_coordinates_;
  std::vector<std::vector<Index>> observations_at_;  // per grid point, ascending
  std::vector<Batch> batches_;
};

// LETKF (Hunt et al. 2007): every batch of grid points gets its own ETKF
// transform from the observations within the taper's support, each weighted
// by sqrt(taper) on its whitened anomalies and innovation, which divides its
// error variance by the taper (R-localisation).
// With `settings.finite_size` each local analysis gets its own EnKF-N
// inflation from its tapered observations (the local EnKF-N of Bocquet 2011).
void letkf(Ensemble ensemble, const MatrixXd& A, const RowVectorXd& mu, const MatrixXd& Y, const VectorXd& dy,
           const Localisation& loc, const Settings& settings) {
  const LocalGeometry geometry(loc, ensemble.cols(), Y.cols());
  const double half_width = gaspari_cohn_half_width_per_radius * loc.radius;
  std::vector<Index> near, used;
  std::vector<double> weight;
  for (const auto& batch : geometry.batches()) {
    if (!loc.analysed.empty() &&
        std::none_of(batch.entries.begin(), batch.entries.end(), [&](std::int64_t j) {
          return loc.analysed[static_cast<std::size_t>(loc.state_point[static_cast<std::size_t>(j)])] != 0;
        }))
      continue;  // another rank's share
    used.clear();
    weight.clear();
    geometry.candidates(batch, 2 * half_width, near);
    for (const Index k : near) {
      const double taper = gaspari_cohn(geometry.distance(batch, k, 2 * half_width), half_width);
      if (taper >= loc.taper_cutoff) {
        used.push_back(k);
        weight.push_back(std::sqrt(taper));
      }
    }
    if (used.empty()) continue;  // no local information: the forecast stands
    MatrixXd Yl(Y.rows(), static_cast<Index>(used.size()));
    VectorXd dyl(Yl.cols());
    for (Index m = 0; m < Yl.cols(); ++m) {
      Yl.col(m) = Y.col(used[m]) * weight[m];
      dyl(m) = dy(used[m]) * weight[m];
    }
    const double inflation = settings.finite_size ? finite_size_inflation(Yl, dyl, settings.finite_size_xn) : 1.0;
    const MatrixXd G = inflated_etkf_transform(Yl, dyl, inflation);
    for (auto j : batch.entries) ensemble.col(j) = (G * A.col(j)).array() + mu(j);
  }
}

}  // namespace

// The hyperprior of the EnKF-N. Bocquet (2011) integrates the prior over the
// unknown mean and covariance with Jeffreys' hyperprior, which gives the
// coefficients eN = (N + 1) / N (the unknown mean) and cL = N / (N - 1) (the
// log term; DAPPER's g = 0). Alone they put the mode of lambda^2 at
// eN / cL < 1 even where the observations carry no information, where
// there should be no update and no inflation; Bocquet, Raanes & Hannart
// (2015, the mode correction of their eq. 36 as DAPPER cites it) move the
// mode to (eN / cL)^(1 - w), w = (N - 1)/N tr((Y Y^T + (N - 1) I)^-1) the
// prior's weight in the analysis (about 1 / (1 + HBH^T/R), 1 without
// observations). xN then scales both coefficients, which sharpens the
// hyperprior around that mode as if the ensemble had xN N members
// (Raanes, Bocquet & Carrassi 2019, sect. 2.1).
FiniteSizeHyperprior finite_size_hyperprior(const Eigen::Ref<const VectorXd>& gram_eigenvalues, double xn) {
  const Index N = gram_eigenvalues.size();
  require(N >= 2, "the EnKF-N needs at least 2 members");
  require(xn > 0, "the EnKF-N's xN must be positive");
  const double n = static_cast<double>(N), n1 = n - 1;
  double mean_effect = (n + 1) / n, log_weight = n / n1;
  const double prior_mode = mean_effect / log_weight;
  const double prior_weight = n1 * (gram_eigenvalues.array().max(0.0) + n1).inverse().mean();
  const double correction = std::sqrt(std::pow(prior_mode, prior_weight));
  mean_effect /= correction;
  log_weight *= correction;
  return {xn * mean_effect, xn * log_weight};
}

// The dual cost in lambda, with Y Y^T = V diag(l) V^T and g = V^T Y dy:
//   J(lambda) = sum_i g_i^2 / (l_i ((N-1) + lambda^2 l_i)) + eN / lambda^2 + cL ln(lambda^2) + const,
// (the whitened innovation outside the span of Y^T only adds a constant).
// Written with zeta = (N - 1) / lambda^2 and uncorrected eN, cL it is, up
// to a factor (N - 1) and constants, the dual cost of Bocquet, Raanes &
// Hannart (2015, sect. 2): 1/2 dy^T (R + Y Y^T / zeta)^-1 dy + eN zeta / 2
// + N / 2 ln(N / zeta) with unnormalised anomalies. Minimising over lambda
// rather than zeta follows DAPPER; J -> inf at both ends of (0, inf), so
// the slope
//   J'(lambda) = -2 lambda sum_i g_i^2 / d_i^2 - 2 eN / lambda^3 + 2 cL / lambda,  d_i = N-1 + lambda^2 l_i,
// changes sign in between: bracket a root starting from lambda = 1 (no
// inflation, as DAPPER's Newton starts) and polish it by Newton steps kept
// inside the bracket, bisecting where Newton would leave it.
double finite_size_inflation(const Eigen::Ref<const MatrixXd>& Y, const Eigen::Ref<const VectorXd>& dy, double xn) {
  const Index N = Y.rows();
  require(N >= 2, "the EnKF-N needs at least 2 members");
  require(Y.cols() == dy.size(), "the EnKF-N's anomalies and innovation differ in size");
  const double n1 = static_cast<double>(N - 1);
  const Eigen::SelfAdjointEigenSolver<MatrixXd> eig(Y * Y.transpose());
  const VectorXd l = eig.eigenvalues().cwiseMax(0.0);
  const VectorXd g2 = (eig.eigenvectors().transpose() * (Y * dy)).array().square();
  const FiniteSizeHyperprior h = finite_size_hyperprior(l, xn);

  const auto slope = [&](double lambda) {
    const double lambda2 = lambda * lambda;
    const double fit = (g2.array() / (n1 + lambda2 * l.array()).square()).sum();
    return -2 * lambda * fit - 2 * h.mean_effect / (lambda2 * lambda) + 2 * h.log_weight / lambda;
  };
  const auto curvature = [&](double lambda) {
    const double lambda2 = lambda * lambda;
    const Eigen::ArrayXd d = n1 + lambda2 * l.array();
    const double fit = (8 * lambda2 * l.array() * g2.array() / d.cube() - 2 * g2.array() / d.square()).sum();
    return fit + 6 * h.mean_effect / (lambda2 * lambda2) - 2 * h.log_weight / lambda2;
  };

  double lo = 1, hi = 1;
  if (slope(1.0) > 0) {
    for (int k = 0; k < 200 && slope(lo) > 0; ++k) lo /= 2;
  } else {
    for (int k = 0; k < 200 && slope(hi) < 0; ++k) hi *= 2;
  }
  if (!(slope(lo) <= 0 && slope(hi) >= 0))
    throw std::runtime_error("enkf: the EnKF-N's dual cost has no minimum in (0, inf)");
  double lambda = std::clamp(1.0, lo, hi);
  for (int k = 0; k < 200 && hi - lo > 1e-14 * hi; ++k) {
    const double s = slope(lambda);
    if (s == 0) return lambda;
    (s < 0 ? lo : hi) = lambda;
    const double c = curvature(lambda);
    double next = c > 0 ? lambda - s / c : 0.5 * (lo + hi);
    if (!(next > lo && next < hi)) next = 0.5 * (lo + hi);
    if (std::abs(next - lambda) <= 1e-14 * lambda) return next;
    lambda = next;
  }
  return lambda;
}

double gaspari_cohn(double distance, double half_width) {
  const double r = std::abs(distance) / half_width;
  if (r >= 2) return 0;
  const double r2 = r * r, r3 = r2 * r;
  if (r <= 1) return 1 - 5.0 / 3 * r2 + 5.0 / 8 * r3 + 0.5 * r2 * r2 - 0.25 * r2 * r3;
  return 4 - 5 * r + 5.0 / 3 * r2 + 5.0 / 8 * r3 - 0.5 * r2 * r2 + r2 * r3 / 12 - 2.0 / (3 * r);
}

RowVectorXd spread(ConstEnsemble ensemble) {
  const RowVectorXd mu = ensemble.colwise().mean();
  return ((ensemble.rowwise() - mu).colwise().squaredNorm() / static_cast<double>(ensemble.rows() - 1))
      .cwiseSqrt();
}

void add_model_error(Ensemble ensemble, const Eigen::Ref<const RowVectorXd>& sigma, Rng& rng) {
  require(sigma.size() == ensemble.cols(), "additive inflation: one standard deviation per state entry is needed");
  require((sigma.array() >= 0).all(), "the additive inflation's standard deviation must not be negative");
  if ((sigma.array() == 0).all()) return;
  std::normal_distribution<double> normal;
  for (Index i = 0; i < ensemble.rows(); ++i)
    for (Index j = 0; j < ensemble.cols(); ++j) ensemble(i, j) += sigma(j) * normal(rng);
}

void add_climatological_model_error(Ensemble ensemble, ConstEnsemble anomalies, double scale, Rng& rng) {
  require(anomalies.cols() == ensemble.cols(), "additive inflation: the climatology's states differ from the state");
  require(anomalies.rows() >= 2, "additive inflation: the climatology needs at least 2 states");
  require(scale >= 0, "the additive inflation's scale must not be negative");
  if (scale == 0) return;
  std::normal_distribution<double> normal;
  MatrixXd z(ensemble.rows(), anomalies.rows());
  for (Index i = 0; i < z.rows(); ++i)
    for (Index k = 0; k < z.cols(); ++k) z(i, k) = normal(rng);
  ensemble.noalias() += std::sqrt(scale / static_cast<double>(anomalies.rows() - 1)) * z * anomalies;
}

void scale_anomalies(Ensemble ensemble, double factor) {
  const RowVectorXd mu = ensemble.colwise().mean();
  ensemble = ((ensemble.rowwise() - mu) * factor).rowwise() + mu;
}

void relax_to_prior_spread(Ensemble ensemble, const Eigen::Ref<const RowVectorXd>& prior_spread, double alpha) {
  require(prior_spread.size() == ensemble.cols(), "rtps: one prior spread per state entry is needed");
  const RowVectorXd mu = ensemble.colwise().mean();
  const RowVectorXd now = spread(ensemble);
  for (Index j = 0; j < ensemble.cols(); ++j) {
    // A collapsed entry has no anomalies to scale.
    if (now(j) == 0) continue;
    const double factor = 1 + alpha * (prior_spread(j) - now(j)) / now(j);
    ensemble.col(j) = ((ensemble.col(j).array() - mu(j)) * factor + mu(j)).matrix();
  }
}

MatrixXd random_mean_preserving_rotation(Index members, Rng& rng) {
  require(members >= 2, "a rotation needs at least 2 members");
  const Index m = members - 1;
  // Haar-distributed O in O(N-1): QR of a Gaussian matrix with the signs of
  // R's diagonal moved into Q (Mezzadri 2007).
  std::normal_distribution<double> normal;
  MatrixXd Z(m, m);
  for (Index i = 0; i < m; ++i)
    for (Index k = 0; k < m; ++k) Z(i, k) = normal(rng);
  const Eigen::HouseholderQR<MatrixXd> qr(Z);
  MatrixXd O = qr.householderQ();
  for (Index k = 0; k < m; ++k)
    if (qr.matrixQR()(k, k) < 0) O.col(k) = -O.col(k);
  // H, the Householder reflection swapping e1 and u = 1 / sqrt(N), is a basis
  // whose first vector is u; Q = H diag(1, O) H then fixes u and acts as O on
  // its orthogonal complement.
  VectorXd v = VectorXd::Constant(members, -1.0 / std::sqrt(static_cast<double>(members)));
  v(0) += 1;
  const MatrixXd H = MatrixXd::Identity(members, members) - 2 * v * v.transpose() / v.squaredNorm();
  MatrixXd B = MatrixXd::Identity(members, members);
  B.bottomRightCorner(m, m) = O;
  return H * B * H;
}

void rotate_anomalies(Ensemble ensemble, Rng& rng) {
  const MatrixXd Q = random_mean_preserving_rotation(ensemble.rows(), rng);
  const RowVectorXd mu = ensemble.colwise().mean();
  const MatrixXd A = ensemble.rowwise() - mu;
  ensemble = (Q * A).rowwise() + mu;
}

void analyse(Ensemble ensemble, ConstEnsemble predicted, const Eigen::Ref<const VectorXd>& y, double sigma,
             const Settings& settings, const Localisation* localisation, Rng& rng) {
  const Index N = ensemble.rows();
  require(N >= 2, "an ensemble needs at least 2 members, got " + std::to_string(N));
  require(predicted.rows() == N, "predicted observations need one row per member");
  require(predicted.cols() == y.size(), "predicted observations and y differ in size");
  require(sigma > 0, "the observation noise must be positive");
  require(settings.inflation > 0, "inflation must be positive");
  require(settings.rtps >= 0 && settings.rtps <= 1, "rtps must lie in [0, 1]");
  require(settings.method != Method::LETKF || localisation, "LETKF needs a localisation");
  require(!settings.finite_size || settings.method != Method::PertObs,
          "the EnKF-N (finite_size) is a square-root filter: use method etkf or letkf");
  require(settings.finite_size_xn > 0, "the EnKF-N's xN must be positive");

  // Nothing observed is no analysis time: as in DAPPER, inflation and
  // rotation act only where an analysis happened.
  if (y.size() == 0) return;
  const RowVectorXd prior_spread = settings.rtps > 0 ? spread(ensemble) : RowVectorXd();
  {  // the update proper; its work arrays are freed before the post-processing
    const RowVectorXd mean_hx = predicted.colwise().mean();
    const MatrixXd Y = (predicted.rowwise() - mean_hx) / sigma;
    const VectorXd dy = (y - mean_hx.transpose()) / sigma;
    const RowVectorXd mu = ensemble.colwise().mean();
    const MatrixXd A = ensemble.rowwise() - mu;
    switch (settings.method) {
      case Method::ETKF:
        ensemble = (inflated_etkf_transform(
                        Y, dy, settings.finite_size ? finite_size_inflation(Y, dy, settings.finite_size_xn) : 1.0) *
                    A)
                       .rowwise() +
                   mu;
        break;
      case Method::PertObs:
        ensemble = (pertobs_transform(Y, predicted, y, sigma, rng) * A).rowwise() + mu;
        break;
      case Method::LETKF:
        letkf(ensemble, A, mu, Y, dy, *localisation, settings);
        break;
    }
  }
  if (settings.rtps > 0) relax_to_prior_spread(ensemble, prior_spread, settings.rtps);
  if (settings.inflation != 1) scale_anomalies(ensemble, settings.inflation);
  if (settings.rotate) rotate_anomalies(ensemble, rng);
}

}  // namespace assim::enkf
