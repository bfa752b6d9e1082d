// The laws observation noise is drawn from, by name: the observe stage draws
// with them, and a sampler that writes the likelihood (4D-Var's cost) reads
// which one the problem's observations carry.
#pragma once

#include <assim/abi.hpp>

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

namespace assim {

enum class NoiseLaw { Gaussian, Laplace, Uniform, LogNormal };

// "gaussian", "laplace", "uniform" or "lognormal"; noise_law throws Error on another name.
ASSIM_TOOLKIT NoiseLaw noise_law(const std::string& name);
ASSIM_TOOLKIT const std::vector<std::string>& noise_law_names();
ASSIM_TOOLKIT std::string noise_law_name(NoiseLaw law);

// Zero-mean noise with standard deviation `sigma` (the noise-distribution
// study compares laws of equal std), float64. The log-normal is exp(Z),
// Z ~ N(0, 1), shifted to zero mean and scaled to std sigma: skewed, heavy
// right tail.
ASSIM_TOOLKIT at::Tensor noise(NoiseLaw law, double sigma, at::IntArrayRef shape, at::Generator& generator);

}  // namespace assim
