// The doctest main of the score-based samplers' tests (sda_tests, soad_tests).
//
// ATen comes before doctest: glog's CHECK macros would replace doctest's.
#include <ATen/Parallel.h>

#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <assim/process.hpp>

#include <cstdlib>

int main(int argc, char** argv) {
  assim::prepare_process();
  // LibTorch defaults to one thread here; two unless OMP_NUM_THREADS says otherwise.
  if (!std::getenv("OMP_NUM_THREADS")) at::set_num_threads(2);
  doctest::Context context(argc, argv);
  return context.run();
}
