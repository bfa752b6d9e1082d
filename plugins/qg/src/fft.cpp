#include "fft.hpp"

#include <cstring>
#include <map>
#include <mutex>
#include <new>
#include <stdexcept>
#include <string>
#include <utility>

namespace assim::qg {

FftwArray<double> real_array(std::size_t count) {
  auto* p = static_cast<double*>(fftw_malloc(sizeof(double) * count));
  if (p == nullptr) throw std::bad_alloc();
  // Zeros: FFTs of uninitialised memory could meet signalling NaNs or denormals.
  std::memset(p, 0, sizeof(double) * count);
  return FftwArray<double>(p);
}

FftwArray<fftw_complex> complex_array(std::size_t count) {
  auto* p = static_cast<fftw_complex*>(fftw_malloc(sizeof(fftw_complex) * count));
  if (p == nullptr) throw std::bad_alloc();
  std::memset(p, 0, sizeof(fftw_complex) * count);
  return FftwArray<fftw_complex>(p);
}

namespace {

Transforms make(std::int64_t nx, Planning planning) {
  const int n[2] = {static_cast<int>(nx), static_cast<int>(nx)};
  const int real_plane = n[0] * n[1], complex_plane = n[0] * (n[1] / 2 + 1);
  const unsigned flags = planning == Planning::Measure ? FFTW_MEASURE : FFTW_ESTIMATE;
  // Planning with FFTW_MEASURE overwrites the arrays: plan on scratch ones.
  auto real = real_array(4 * static_cast<std::size_t>(real_plane));
  auto spectral = complex_array(4 * static_cast<std::size_t>(complex_plane));
  auto forward = [&](int howmany) {
    return fftw_plan_many_dft_r2c(2, n, howmany, real.get(), nullptr, 1, real_plane,
                                  spectral.get(), nullptr, 1, complex_plane, flags);
  };
  auto inverse = [&](int howmany) {
    return fftw_plan_many_dft_c2r(2, n, howmany, spectral.get(), nullptr, 1, complex_plane,
                                  real.get(), nullptr, 1, real_plane, flags);
  };
  Transforms t{forward(2), inverse(2), forward(4), inverse(4)};
  if (!t.forward2 || !t.inverse2 || !t.forward4 || !t.inverse4)
    throw std::runtime_error("FFTW could not plan the " + std::to_string(nx) + "^2 transforms");
  return t;
}

}  // namespace

const Transforms& transforms(std::int64_t nx, Planning planning) {
  // FFTW's planner is not thread-safe (executing a finished plan is): this
  // makes every planner call in the process take FFTW's own lock, since other
  // plugins may plan concurrently; the mutex guards the cache.
  static std::once_flag safe;
  std::call_once(safe, fftw_make_planner_thread_safe);
  static std::mutex mutex;
  static std::map<std::pair<std::int64_t, Planning>, Transforms> cache;
  std::lock_guard<std::mutex> lock(mutex);
  auto key = std::make_pair(nx, planning);
  auto it = cache.find(key);
  if (it == cache.end()) it = cache.emplace(key, make(nx, planning)).first;
  return it->second;
}

}  // namespace assim::qg
