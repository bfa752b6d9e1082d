// What the numbers of a run depend on besides its inputs: the BLAS LibTorch
// calls (Debian's LibTorch takes whichever libblas.so.3 is installed, and the
// reference BLAS is several times slower than OpenBLAS), the CPU capability
// ATen's kernels dispatch to, and the tensor threads. Logged at the start of
// a run and recorded in every stage.yaml.
#pragma once

#include <string>

namespace assim::machine {

struct Facts {
  std::string blas;            // the libblas file mapped into this process, "none" if none is
  std::string cpu_capability;  // ATen's: "DEFAULT", "AVX2", "AVX512"
  int threads = 1;             // tensor threads of each worker (workers::threads())
  int workers = 1;             // workers::count()
};

Facts facts();
std::string text(const Facts& facts);  // one line for the log

}  // namespace assim::machine
