#include <assim/testing/certificate.hpp>

#include <assim/error.hpp>
#include <assim/shape.hpp>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <utility>
#include <vector>

namespace assim::testing {

namespace {

const auto f64 = at::TensorOptions().dtype(at::kDouble);

void require(bool condition, const std::string& what) {
  if (!condition) throw assim::Error("certificate: " + what);
}

}  // namespace

LinearGaussian example_problem() {
  LinearGaussian problem;
  problem.mean = at::zeros({4}, f64);
  const at::Tensor index = at::arange(4, f64);
  problem.covariance = at::pow(0.6, (index.unsqueeze(0) - index.unsqueeze(1)).abs());
  problem.H = at::tensor({1.0, 0.5, 0.0, 0.0, 0.0, 0.0, 1.0, -1.0}, f64).reshape({2, 4});
  problem.sigma_o = 0.5;
  return problem;
}

at::Tensor ChannelMatrix::apply(const at::Tensor& x) const {
  require(x.dim() >= 3 && x.size(-3) == H_.size(1),
          "ChannelMatrix needs states (..., " + std::to_string(H_.size(1)) + ", y, x), got " + shape_text(x.sizes()));
  return at::einsum("ji,...iyx->...jyx", {H_.to(x.scalar_type()), x});
}

std::vector<std::int64_t> ChannelMatrix::output_shape(const std::vector<std::int64_t>& state_shape) const {
  require(state_shape.size() == 3 && state_shape[0] == H_.size(1),
          "ChannelMatrix needs a state (" + std::to_string(H_.size(1)) + ", y, x), got " + shape_text(state_shape));
  return {H_.size(0), state_shape[1], state_shape[2]};
}

AssimilationProblem forecast_problem(std::shared_ptr<const ObservationOperator> h, const at::Tensor& forecast,
                                     const at::Tensor& y, double sigma, NoiseLaw law) {
  require(forecast.dim() == 2, "forecast_problem needs a forecast (members, n), got " + shape_text(forecast.sizes()));
  const std::int64_t members = forecast.size(0), n = forecast.size(1), p = y.numel();
  StateSpec state;
  state.variable = "x";
  state.dims = {{"channel", n, "", 0.0}, {"y", 1, "1", 1.0}, {"x", 1, "1", 1.0}};
  AssimilationProblem problem;
  problem.set_state(state);
  problem.set_observation_operator(std::move(h));
  problem.set_observations(y.reshape({1, p, 1, 1}));
  problem.set_mask(at::ones({1, p, 1, 1}, y.options()));
  problem.set_observation_sigma(sigma);
  problem.set_observation_law(law);
  problem.set_forecast(forecast.reshape({members, n, 1, 1}));
  return problem;
}

Replications draw_replications(const LinearGaussian& problem, std::int64_t replications, std::uint64_t seed) {
  const std::int64_t n = problem.mean.numel(), p = problem.H.size(0);
  require(problem.covariance.sizes() == at::IntArrayRef({n, n}) && problem.H.size(1) == n,
          "covariance must be (n, n) and H (p, n) for a mean of n = " + std::to_string(n) + " entries");
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  const at::Tensor root = at::linalg_cholesky(problem.covariance);
  const at::Tensor truth = problem.mean + at::randn({replications, n}, generator, f64).matmul(root.t());
  const at::Tensor noise = problem.sigma_o * at::randn({replications, p}, generator, f64);
  return {truth, truth.matmul(problem.H.t()) + noise};
}

GaussianPosterior exact_posterior(const LinearGaussian& problem, const at::Tensor& observations) {
  const at::Tensor& P = problem.covariance;
  const at::Tensor& H = problem.H;
  const at::Tensor S = H.matmul(P).matmul(H.t()) + problem.sigma_o * problem.sigma_o * at::eye(H.size(0), f64);
  const at::Tensor K = at::linalg_solve(S, H.matmul(P)).t();  // P H^T S^-1, S symmetric
  const at::Tensor mean = problem.mean + (observations - problem.mean.matmul(H.t())).matmul(K.t());
  at::Tensor covariance = P - K.matmul(H).matmul(P);
  return {mean, 0.5 * (covariance + covariance.t())};
}

Calibration calibrate(const at::Tensor& truth, const at::Tensor& samples, std::int64_t bins, double alpha) {
  require(samples.dim() == 3 && truth.dim() == 2 && samples.sizes().slice(1) == truth.sizes(),
          "samples " + shape_text(samples.sizes()) + " must be (M, R, n) for a truth (R, n) of " +
              shape_text(truth.sizes()));
  const std::int64_t members = samples.size(0), replications = truth.size(0), n = truth.size(1);
  require(bins >= 2 && (members + 1) % bins == 0,
          std::to_string(bins) + " bins do not divide the M + 1 = " + std::to_string(members + 1) + " ranks evenly");
  Calibration c;
  c.alpha = alpha;
  c.ranks = (samples < truth.unsqueeze(0)).sum(0);
  const at::Tensor bin = at::floor_divide(c.ranks * bins, members + 1);  // (R, n)
  c.histogram = at::zeros({n, bins}, f64);
  c.histogram.scatter_add_(1, bin.t().contiguous(), at::ones({n, replications}, f64));
  const double expected = static_cast<double>(replications) / static_cast<double>(bins);
  c.chi_square = (c.histogram - expected).square().sum(1) / expected;
  c.p_value = at::special_gammaincc(at::full({n}, 0.5 * static_cast<double>(bins - 1), f64), 0.5 * c.chi_square);
  return c;
}

double Calibration::smallest_p() const { return p_value.min().item<double>(); }

bool Calibration::uniform() const { return smallest_p() >= alpha / static_cast<double>(p_value.numel()); }

std::string Calibration::text() const {
  std::ostringstream out;
  out << "SBC over " << ranks.size(0) << " replications: chi-square per coordinate";
  for (std::int64_t i = 0; i < chi_square.numel(); ++i) out << (i ? ", " : " ") << chi_square[i].item<double>();
  out << " (" << histogram.size(1) - 1 << " dof); smallest p " << smallest_p() << " against " << alpha << " / "
      << p_value.numel() << ": " << (uniform() ? "uniform" : "REJECTED") << "; histogram of the coordinate of that p:";
  const at::Tensor worst = histogram[p_value.argmin().item<std::int64_t>()];
  for (std::int64_t b = 0; b < worst.numel(); ++b) out << " " << worst[b].item<double>();
  return out.str();
}

Distance distance(const at::Tensor& samples, const GaussianPosterior& exact) {
  require(samples.dim() == 3 && samples.sizes().slice(1) == exact.mean.sizes(),
          "samples " + shape_text(samples.sizes()) + " must be (M, R, n) for a posterior mean of " +
              shape_text(exact.mean.sizes()));
  const at::Tensor sigma = exact.covariance.diagonal().sqrt();  // (n)
  const at::Tensor x = samples.to(at::kDouble);
  const at::Tensor mean = x.mean(0);  // (R, n)
  Distance d;
  d.mean_error = ((mean - exact.mean) / sigma).square().mean().sqrt().item<double>();
  // Within-replication covariance, pooled: the posterior covariance is the
  // same for every replication of a linear-Gaussian problem.
  const at::Tensor anomalies = x - mean;  // (M, R, n)
  const at::Tensor pooled = at::einsum("mri,mrj->ij", {anomalies, anomalies}) /
                            static_cast<double>((x.size(0) - 1) * x.size(1));
  const at::Tensor ratio = (pooled.diagonal() / exact.covariance.diagonal()).sqrt();
  d.std_ratio_min = ratio.min().item<double>();
  d.std_ratio_max = ratio.max().item<double>();
  d.correlation_error = ((pooled - exact.covariance) / at::outer(sigma, sigma)).abs().max().item<double>();
  return d;
}

std::string Distance::text() const {
  std::ostringstream out;
  out << "RMS mean error " << mean_error << " posterior std, std ratio " << std_ratio_min << ".." << std_ratio_max
      << ", largest covariance error " << correlation_error << " sigma_i sigma_j";
  return out.str();
}

NonlinearExample nonlinear_example() {
  return {at::tensor({0.3, -0.8, 1.2, 0.05}, f64), at::tensor({0.05, -0.12, 0.08, 0.02}, f64), 0.1, 0.5};
}

at::Tensor quadrature_posterior(const ObservationOperator& h, const at::Tensor& nodes, const at::Tensor& y,
                                double sigma_o, double prior_std) {
  const at::Tensor log_posterior =
      -0.5 * (nodes / prior_std).square() - (y.unsqueeze(-1) - h.apply(nodes)).square() / (2 * sigma_o * sigma_o);
  return at::softmax(log_posterior, -1);
}

double wasserstein1(const at::Tensor& samples, const at::Tensor& nodes, const at::Tensor& weights) {
  require(nodes.dim() == 1 && weights.sizes() == nodes.sizes() && samples.numel() > 0,
          "nodes and weights must be two vectors of one length, and the samples not empty");
  const at::Tensor s = std::get<0>(samples.reshape({-1}).to(at::kDouble).sort()).contiguous();
  const at::Tensor g = nodes.to(at::kDouble).contiguous(), w = (weights / weights.sum()).to(at::kDouble).contiguous();
  // Both laws are steps: merge their jumps (position, jump of F_samples - F_exact)
  // and integrate |F_samples - F_exact| between consecutive positions.
  std::vector<std::pair<double, double>> jumps;
  const double each = 1.0 / static_cast<double>(s.numel());
  for (std::int64_t i = 0; i < s.numel(); ++i) jumps.emplace_back(s.data_ptr<double>()[i], each);
  for (std::int64_t k = 0; k < g.numel(); ++k) jumps.emplace_back(g.data_ptr<double>()[k], -w.data_ptr<double>()[k]);
  std::sort(jumps.begin(), jumps.end());
  double difference = 0, total = 0;
  for (std::size_t j = 0; j + 1 < jumps.size(); ++j) {
    difference += jumps[j].second;
    total += std::abs(difference) * (jumps[j + 1].first - jumps[j].first);
  }
  return total;
}

std::int64_t certificate_size(std::int64_t ci, std::int64_t full) {
  const char* mode = std::getenv("ASSIM_CERTIFICATE");
  return mode && std::string(mode) == "full" ? full : ci;
}

void print_row(const std::string& method, const std::string& problem, const Calibration& calibration,
               const Distance& distance) {
  std::ostringstream out;
  out.precision(3);
  out << "certificate | " << method << " | " << problem << " | " << calibration.ranks.size(0) << " x "
      << calibration.ranks.size(1) << " | " << calibration.smallest_p() << " | "
      << (calibration.uniform() ? "uniform" : "rejected") << " | " << distance.mean_error << " | "
      << distance.std_ratio_min << ".." << distance.std_ratio_max << " | " << distance.correlation_error << " |\n";
  std::cout << out.str() << std::flush;
}

void print_row(const std::string& method, const std::string& problem, const at::Tensor& w1) {
  std::ostringstream out;
  out.precision(3);
  out << "certificate | " << method << " | " << problem << " | W1 per case:";
  for (std::int64_t k = 0; k < w1.numel(); ++k) out << " " << w1[k].item<double>();
  out << " |\n";
  std::cout << out.str() << std::flush;
}

}  // namespace assim::testing
