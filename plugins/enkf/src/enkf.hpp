// Ensemble Kalman filter analyses, free of LibTorch so that they can be tested
// and benchmarked on their own.
//
// An ensemble is a (members x state) row-major matrix: one row per member,
// exactly the memory of a (member, state dims...) tensor, so a tensor is
// analysed in place through an Eigen::Map. Observations are given through the
// ensemble of predicted observations HX (members x obs), which is how a
// nonlinear operator enters, together with y and R = sigma^2 I.
//
// Conventions follow DAPPER (Raanes et al.), whose published benchmark
// numbers this code reproduces: the inflation factor multiplies the posterior
// anomalies; the Gaspari-Cohn half-width is 1.82 times the localisation
// radius; the taper enters the local analysis as sqrt(taper) on the
// observation anomalies and innovations.
#pragma once

#include <Eigen/Core>

#include <cstdint>
#include <random>
#include <vector>

namespace assim::enkf {

using RowMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Ensemble = Eigen::Ref<RowMatrix>;
using ConstEnsemble = Eigen::Ref<const RowMatrix>;
using Rng = std::mt19937_64;

enum class Method {
  ETKF,     // square-root filter, symmetric transform (Hunt et al. 2007)
  PertObs,  // stochastic EnKF with perturbed observations (Burgers et al. 1998)
  LETKF,    // ETKF on batches of grid points with tapered local observations
};

// Gaspari & Cohn (1999, eq. 4.10) fifth-order compactly supported correlation
// of `distance` for a given half-width c: 1 at 0, 5/24 at c, 0 from 2c on.
double gaspari_cohn(double distance, double half_width);

// DAPPER's half-width for a localisation radius: c = 1.82 * radius, so that
// the taper has about the width of a Gaussian of standard deviation `radius`.
constexpr double gaspari_cohn_half_width_per_radius = 1.82;

// Where state entries and observations lie on a periodic grid of one or two
// dimensions. Distances are in grid units, periodic in every dimension.
struct Localisation {
  // Grid points along each spatial dimension, outermost first.
  std::vector<std::int64_t> extent;
  // Flat grid point (row-major over `extent`) of every state entry; several
  // entries (fields, layers) may share a point.
  std::vector<std::int64_t> state_point;
  // Flat grid point of every observation: its nearest where it lies between
  // grid points.
  std::vector<std::int64_t> observation_point;
  // Where observations lie between grid points (read at places of a file):
  // each one's coordinates in grid units along every dimension, outermost
  // first, each in [0, extent); distances are then measured from them.
  // Empty: every observation at its grid point.
  std::vector<double> observation_coordinates;
  // Localisation radius, grid units.
  double radius = 0;
  // Observations whose taper falls below this are left out of a local analysis.
  double taper_cutoff = 1e-3;
  // Side, in grid points (1 to 64), of the rectangular batches analysed together. An
  // observation's taper for a batch is that of the mean of its distances to
  // the batch's points (DAPPER's convention).
  std::int64_t batch = 2;
  // Per grid point, whether to analyse it (1) or leave it (0); empty: all.
  // A batch with no point to analyse is skipped; one with some is analysed
  // whole, so every analysed point gets what the analysis of all gives it.
  std::vector<char> analysed;
};

struct Settings {
  Method method = Method::ETKF;
  // Multiplies the posterior anomalies: A_a <- inflation * A_a.
  double inflation = 1.0;
  // Relaxation to prior spread (Whitaker & Hamill 2012), alpha in [0, 1].
  double rtps = 0.0;
  // Random mean-preserving rotation of the posterior anomalies.
  bool rotate = false;
  // The finite-size EnKF-N (Bocquet 2011; Bocquet, Raanes & Hannart 2015):
  // the ETKF (or each LETKF local analysis) with the prior anomalies
  // inflated by the factor that minimises the dual cost, see
  // finite_size_inflation. ETKF and LETKF only.
  bool finite_size = false;
  // DAPPER's xN: multiplies both hyperprior coefficients, as if the
  // ensemble were xN N members; > 0, 1 is the plain Jeffreys hyperprior.
  double finite_size_xn = 1.0;
};

// Replaces the forecast `ensemble` by the analysis given `predicted` = HX
// (members x obs), observations `y` and noise standard deviation `sigma`.
// `localisation` is required by LETKF and ignored otherwise. Only PertObs and
// `rotate` draw from `rng`. With no observations the forecast is left as it is
// (no inflation either). Throws std::invalid_argument on inconsistent sizes.
void analyse(Ensemble ensemble, ConstEnsemble predicted, const Eigen::Ref<const Eigen::VectorXd>& y,
             double sigma, const Settings& settings, const Localisation* localisation, Rng& rng);

// The pieces `analyse` is made of, exposed for tests.

// The EnKF-N hyperprior's two coefficients (DAPPER's eN and cL) for an
// ensemble of `members` whose whitened observation anomalies Y have the Gram
// eigenvalues `gram_eigenvalues` (of Y Y^T, N of them, >= 0).
struct FiniteSizeHyperprior {
  double mean_effect;  // eN: (N + 1) / N before the corrections
  double log_weight;   // cL: N / (N - 1) before the corrections
};
FiniteSizeHyperprior finite_size_hyperprior(const Eigen::Ref<const Eigen::VectorXd>& gram_eigenvalues,
                                            double xn);

// The EnKF-N's inflation of the prior anomalies, lambda > 0, minimising the
// dual cost over lambda (zeta = (N - 1) / lambda^2 in the paper's variable),
// with Y the whitened observation anomalies (members x obs) and dy the
// whitened innovation:
//   J(lambda) = dy^T (I + lambda^2 Y^T Y / (N-1))^-1 dy / (N-1)
//               + eN / lambda^2 + cL ln(lambda^2).
double finite_size_inflation(const Eigen::Ref<const Eigen::MatrixXd>& Y, const Eigen::Ref<const Eigen::VectorXd>& dy,
                             double xn);

// Standard deviation of every state entry across members (divisor N - 1).
Eigen::RowVectorXd spread(ConstEnsemble ensemble);

// Additive inflation: adds sigma_j * N(0, 1) draws to entry j of every
// member, a model error of diagonal covariance Q = diag(sigma_j^2) realised
// in each forecast member (DAPPER's stochastic treatment of the forecast
// noise). The draws are not centred, so the mean moves too, as the forecast
// of a noisy model would. `sigma` holds one standard deviation per state
// entry (>= 0); draws nothing when all are 0.
void add_model_error(Ensemble ensemble, const Eigen::Ref<const Eigen::RowVectorXd>& sigma, Rng& rng);
// Q = sigma^2 I.
inline void add_model_error(Ensemble ensemble, double sigma, Rng& rng) {
  add_model_error(ensemble, Eigen::RowVectorXd::Constant(ensemble.cols(), sigma), rng);
}

// Additive inflation with Q = scale * C, C the sample covariance of K
// climatological states whose anomalies (each state minus their mean) are the
// rows of `anomalies` (K x state): every member gets
// sqrt(scale / (K - 1)) z^T anomalies, z ~ N(0, I_K), a Gaussian draw of
// covariance exactly scale * C without forming or factorising C (the
// anomalies / sqrt(K - 1) are a square root of it). Draws nothing when scale is 0.
void add_climatological_model_error(Ensemble ensemble, ConstEnsemble anomalies, double scale, Rng& rng);

// Multiplies the anomalies by `factor` about the unchanged mean.
void scale_anomalies(Ensemble ensemble, double factor);

// Scales the anomalies of entry j by 1 + alpha (prior_spread_j - s_j) / s_j,
// s_j being the current spread, so that s_j becomes
// (1 - alpha) s_j + alpha prior_spread_j.
void relax_to_prior_spread(Ensemble ensemble, const Eigen::Ref<const Eigen::RowVectorXd>& prior_spread,
                           double alpha);

// A random orthogonal N x N matrix Q with Q 1 = 1, uniform (Haar) on the
// subgroup that fixes the ones vector.
Eigen::MatrixXd random_mean_preserving_rotation(Eigen::Index members, Rng& rng);

// E <- mean + Q A with Q from random_mean_preserving_rotation: the ensemble
// mean and sample covariance are unchanged, the members are mixed.
void rotate_anomalies(Ensemble ensemble, Rng& rng);

}  // namespace assim::enkf
