#include <assim/error.hpp>
#include <assim/noise.hpp>

#include <ATen/ATen.h>

#include <cmath>

namespace assim {

const std::vector<std::string>& noise_law_names() {
  static const std::vector<std::string> names = {"gaussian", "laplace", "uniform", "lognormal"};
  return names;
}

NoiseLaw noise_law(const std::string& name) {
  if (name == "gaussian") return NoiseLaw::Gaussian;
  if (name == "laplace") return NoiseLaw::Laplace;
  if (name == "uniform") return NoiseLaw::Uniform;
  if (name == "lognormal") return NoiseLaw::LogNormal;
  throw Error("unknown noise law '" + name + "'");
}

std::string noise_law_name(NoiseLaw law) { return noise_law_names().at(static_cast<std::size_t>(law)); }

at::Tensor noise(NoiseLaw law, double sigma, at::IntArrayRef shape, at::Generator& generator) {
  auto options = at::TensorOptions().dtype(at::kDouble);
  switch (law) {
    case NoiseLaw::Gaussian:
      return sigma * at::randn(shape, generator, options);
    case NoiseLaw::Laplace: {
      // Inverse CDF: -b sign(u) log(1 - 2|u|), u ~ U(-1/2, 1/2); std = sqrt(2) b.
      at::Tensor u = at::rand(shape, generator, options) - 0.5;
      double b = sigma / std::sqrt(2.0);
      return -b * at::sign(u) * at::log1p(-2.0 * u.abs());
    }
    case NoiseLaw::Uniform:
      // U(-a, a) has std a / sqrt(3).
      return sigma * std::sqrt(3.0) * (2.0 * at::rand(shape, generator, options) - 1.0);
    case NoiseLaw::LogNormal: {
      // exp(Z) has mean e^{1/2} and variance (e - 1) e.
      const double e = std::exp(1.0);
      at::Tensor y = at::exp(at::randn(shape, generator, options));
      return sigma * (y - std::sqrt(e)) / std::sqrt((e - 1.0) * e);
    }
  }
  throw Error("unknown noise law");
}

}  // namespace assim
