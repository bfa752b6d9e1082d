// The host: main prepares the process; cli.cpp reads the command line; the
// framework does the rest.
#include "cli.hpp"

#include <assim/framework/ranks.hpp>

#include <cstdlib>

#include <malloc.h>

int main(int argc, char** argv) {
  // glibc returning freed tensor memory to the OS at once halves LibTorch's
  // CPU speed here (measured 26-28 ms -> 12 ms per U-Net forward): keep it.
  mallopt(M_MMAP_THRESHOLD, 256 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
#if defined(__x86_64__) && defined(__GNUC__)
  // LibTorch 1.13 dispatches to its AVX2 kernels even where the CPU has
  // AVX-512 (opt-in upstream); on the project's Xeon its AVX-512 kernels
  // train the U-Net 1.1-1.6x and denoise 1.4-1.7x faster
  // (bench/score_prior/README.md). ATen reads the switch once, at its first
  // kernel, and does not check the CPU itself: so only where the CPU has what
  // ATen's AVX-512 build needs, and never over the user's own setting.
  if (!std::getenv("ATEN_CPU_CAPABILITY") && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("fma"))
    setenv("ATEN_CPU_CAPABILITY", "avx512", 0);
#endif
  // Under mpirun or srun, before anything reads the command line.
  assim::Ranks::start(argc, argv);
  return assim::Ranks::stop(assim::command_line(argc, argv));
}
