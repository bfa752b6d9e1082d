#include "fft.hpp"

#include <cstring>
#include <map>
#include <mutex>
#include <new>
#include <set>
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
  const unsigned flags = planning == Planning::Measure   ? FFTW_MEASURE
                         : planning == Planning::Patient ? FFTW_PATIENT
                         : planning == Planning::Wisdom  ? FFTW_MEASURE | FFTW_WISDOM_ONLY
                                                         : FFTW_ESTIMATE;
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
    throw std::runtime_error(planning == Planning::Wisdom
                                 ? "the imported FFTW wisdom holds no plan for the " + std::to_string(nx) + "^2 "
                                   "transforms of this build (write it with qg_wisdom FILE " + std::to_string(nx) + ")"
                                 : "FFTW could not plan the " + std::to_string(nx) + "^2 transforms");
  return t;
}

// FFTW's planner and wisdom are not thread-safe (executing a finished plan
// is): this makes every planner call in the process take FFTW's own lock,
// since other plugins may plan concurrently; the mutex guards our caches.
std::mutex& planner() {
  static std::once_flag safe;
  std::call_once(safe, fftw_make_planner_thread_safe);
  static std::mutex mutex;
  return mutex;
}

}  // namespace

void import_wisdom(const std::filesystem::path& file) {
  static std::set<std::filesystem::path> imported;
  std::lock_guard<std::mutex> lock(planner());
  const auto canonical = std::filesystem::weakly_canonical(file);
  if (imported.count(canonical)) return;
  if (!std::filesystem::is_regular_file(file))
    throw std::runtime_error(file.string() + " does not exist (write it with qg_wisdom " + file.string() + " NX...)");
  if (fftw_import_wisdom_from_filename(file.c_str()) == 0)
    throw std::runtime_error(file.string() + " is not FFTW wisdom of this FFTW (" + fftw_version + ")");
  imported.insert(canonical);
}

void write_wisdom(const std::filesystem::path& file, const std::vector<std::int64_t>& sizes, Planning planning) {
  for (std::int64_t nx : sizes) transforms(nx, planning);
  const std::filesystem::path partial = file.string() + ".partial";
  {
    std::lock_guard<std::mutex> lock(planner());
    if (fftw_export_wisdom_to_filename(partial.c_str()) == 0)
      throw std::runtime_error("cannot write " + partial.string());
  }
  std::filesystem::rename(partial, file);
}

const Transforms& transforms(std::int64_t nx, Planning planning) {
  static std::map<std::pair<std::int64_t, Planning>, Transforms> cache;
  std::lock_guard<std::mutex> lock(planner());
  auto key = std::make_pair(nx, planning);
  auto it = cache.find(key);
  if (it == cache.end()) it = cache.emplace(key, make(nx, planning)).first;
  return it->second;
}

}  // namespace assim::qg
