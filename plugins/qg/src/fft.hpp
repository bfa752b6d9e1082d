// FFTW plans for the stepper, made once per grid size and planning rigour and
// shared by every Stepper in the process (FFTW_MEASURE costs 0.1-0.3 s a size).
#pragma once

#include <fftw3.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <vector>

namespace assim::qg {

enum class Planning {
  Measure,   // FFTW_MEASURE: fastest; the plan, hence the last bits, may differ between runs
  Estimate,  // FFTW_ESTIMATE: no timing runs, the same plan every run (tests, reproducibility)
  Wisdom,    // the plan stored in imported wisdom (import_wisdom), none if it holds none: fast
             // and the same plan every run that reads the same file
  Patient,   // FFTW_PATIENT: a longer search, for writing wisdom once
};

// Each plan transforms `howmany` contiguous (ny, nx) real planes to/from
// (ny, nx/2+1) complex planes, out of place, on arrays aligned like fftw_malloc's.
// Inverse transforms are unnormalised and destroy their input (FFTW's default).
struct Transforms {
  fftw_plan forward2 = nullptr;  // the two layers of q  -> qh
  fftw_plan inverse2 = nullptr;  // the two layers of qh -> q
  fftw_plan forward4 = nullptr;  // fluxes (u1 q1, u2 q2, v1 q1, v2 q2) -> spectral
  fftw_plan inverse4 = nullptr;  // (u1h, u2h, v1h, v2h) -> velocities
};

// The process-wide plans for an nx x nx grid; thread-safe, never freed before
// exit. Throws std::runtime_error when FFTW makes none (with Wisdom: the
// imported wisdom holds no plan for these transforms).
const Transforms& transforms(std::int64_t nx, Planning planning);

// Adds the wisdom in `file` to the process's (once per file); throws
// std::runtime_error naming the file if it cannot be read as FFTW wisdom.
void import_wisdom(const std::filesystem::path& file);
// Plans the transforms of every size with `planning` (Measure or Patient) and
// writes the process's wisdom to `file` (through a temporary file renamed).
void write_wisdom(const std::filesystem::path& file, const std::vector<std::int64_t>& sizes, Planning planning);

// Memory from fftw_malloc (SIMD-aligned, as the plans were made for).
struct FftwFree {
  void operator()(void* p) const { fftw_free(p); }
};
template <class T>
using FftwArray = std::unique_ptr<T[], FftwFree>;

FftwArray<double> real_array(std::size_t count);
FftwArray<fftw_complex> complex_array(std::size_t count);

}  // namespace assim::qg
