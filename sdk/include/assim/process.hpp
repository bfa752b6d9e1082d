// What the host does to its process before anything else runs, for every
// program that runs plugin code outside the host (benchmarks, test programs),
// so that they measure and test what the host runs.
#pragma once

#include <assim/abi.hpp>

namespace assim {

// Call first in main, before any tensor is made:
// - keeps freed memory in the process: glibc returning freed activations to
//   the OS at once halves LibTorch's CPU speed (measured 26-28 ms -> 12 ms
//   per U-Net forward, DESIGN.md);
// - on x86-64 CPUs with what ATen's AVX-512 build needs (F, BW, VL, DQ, FMA),
//   and unless ATEN_CPU_CAPABILITY is set, makes ATen dispatch to its AVX-512
//   kernels: LibTorch 1.13 picks AVX2 there unless told (opt-in upstream),
//   and its AVX-512 kernels train the U-Net 1.1-1.6x and denoise 1.4-1.7x
//   faster (bench/score_prior/README.md). ATen reads the switch once, at its
//   first kernel, and does not check the CPU itself.
ASSIM_API void prepare_process();

}  // namespace assim
