// How the truth is observed: which points (masks), with what noise. Drawn
// from explicit generators so that the same seed gives the same observations.
#pragma once

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

namespace assim::design {

enum class NoiseLaw { Gaussian, Laplace, Uniform, LogNormal };

// "gaussian", "laplace", "uniform" or "lognormal".
NoiseLaw noise_law(const std::string& name);
const std::vector<std::string>& noise_law_names();

// Zero-mean noise with standard deviation `sigma` (the noise-distribution
// study compares laws of equal std). The log-normal is exp(Z), Z ~ N(0, 1),
// shifted to zero mean and scaled to std sigma: skewed, heavy right tail.
at::Tensor noise(NoiseLaw law, double sigma, at::IntArrayRef shape, at::Generator& generator);

// A boolean mask over `grid` (the spatial dims): each point kept with
// probability `fraction`, then only points whose every index is a multiple
// of `stride`.
at::Tensor mask(at::IntArrayRef grid, double fraction, std::int64_t stride, at::Generator& generator);

}  // namespace assim::design
