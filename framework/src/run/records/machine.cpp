#include "machine.hpp"

#include <assim/workers.hpp>

#include <ATen/Parallel.h>
#include <ATen/Version.h>

#include <fstream>

namespace assim::machine {

namespace {

// The first mapped file whose name holds "blas" (libblas.so.3 resolves
// through Debian's alternatives to .../openblas-openmp/libblas.so.3 or
// .../blas/libblas.so.3, the reference one).
std::string mapped_blas() {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    const auto slash = line.find('/');
    if (slash == std::string::npos) continue;
    const std::string path = line.substr(slash);
    const auto name = path.substr(path.rfind('/') + 1);
    if (name.find("blas") != std::string::npos) return path;
  }
  return "none";
}

// ATen reports the kernels it dispatches to in its build summary, as
// "CPU capability usage: AVX512" (the dispatcher itself is not exported).
std::string cpu_capability() {
  const std::string config = at::show_config();
  const std::string key = "CPU capability usage: ";
  const auto at_key = config.find(key);
  if (at_key == std::string::npos) return "unknown";
  const auto start = at_key + key.size();
  return config.substr(start, config.find('\n', start) - start);
}

}  // namespace

Facts facts() {
  Facts f;
  f.blas = mapped_blas();
  f.cpu_capability = cpu_capability();
  f.threads = workers::threads();
  f.workers = workers::count();
  return f;
}

std::string text(const Facts& f) {
  return std::to_string(f.workers) + " worker(s) of " + std::to_string(f.threads) + " tensor thread(s), ATen CPU capability " + f.cpu_capability + ", BLAS " +
         f.blas + (f.blas.find("openblas") == std::string::npos && f.blas != "none"
                       ? " (not OpenBLAS: scripts/setup installs libopenblas0-openmp, 1.7x faster here)"
                       : "");
}

}  // namespace assim::machine
