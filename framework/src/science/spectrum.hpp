// The isotropic power spectrum of states on their periodic grid, the dims
// with a spacing (Lorenz-96's sites, QG's y and x), and how an estimate's
// compares with the truth's: does a method keep the truth's energy at each
// scale, or smooth the small scales away? One definition for evaluate and
// its tests; experiments/score/resolution_statistics.py draws the truth's
// spectrum alone, offline, for choosing a grid.
#pragma once

#include <assim/model.hpp>

#include <ATen/ATen.h>

#include <cstdint>

namespace assim::spectrum {

// Whether `state` has a spectrum here: a grid of 1 or 2 dims, after its
// channel dims (products::grid_of's convention).
bool defined_for(const StateSpec& state);

// The wavenumbers of `state`'s spectrum: 1 .. n / 2 in cycles per domain, n
// the smallest grid dim. Throws Error naming the state where it has none.
at::Tensor wavenumbers(const StateSpec& state);

// The power of `fields` (count, state dims...) per wavenumber: |FFT|^2 over
// the grid (1-D or 2-D, periodic, the mean removed by leaving out k = 0),
// summed over the wavevectors whose length rounds to the wavenumber and over
// the channels (QG's layers), averaged over the count. (wavenumbers).
at::Tensor power(const at::Tensor& fields, const StateSpec& state);

// An estimate's power over the truth's per wavenumber (1: the truth's energy
// at that scale; below 1: smoothed away), NaN where the truth has none to
// speak of, below 1e-6 of its strongest wavenumber's: a model's dealiasing
// filter empties the last shells (QG at nx 16 from wavenumber 6 on), and a
// ratio to rounding error says nothing.
at::Tensor ratio(const at::Tensor& estimate, const at::Tensor& truth);

// The estimate's power summed over the upper half of the wavenumbers over
// the truth's: a ratio of energies, weighted as the truth's energy is, so
// that its empty shells do not dominate. NaN where the truth has none there
// to speak of (in the sense of `ratio`).
double small_scale_ratio(const at::Tensor& estimate, const at::Tensor& truth);

}  // namespace assim::spectrum
