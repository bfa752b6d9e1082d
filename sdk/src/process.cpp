#include <assim/process.hpp>

#include <malloc.h>

#include <cstdlib>

namespace assim {

void prepare_process() {
  mallopt(M_MMAP_THRESHOLD, 256 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
#if defined(__x86_64__) && defined(__GNUC__)
  if (!std::getenv("ATEN_CPU_CAPABILITY") && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("fma"))
    setenv("ATEN_CPU_CAPABILITY", "avx512", 0);
#endif
}

}  // namespace assim
