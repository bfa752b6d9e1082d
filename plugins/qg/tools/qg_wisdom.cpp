// qg_wisdom FILE [--patient] NX...: times FFTW's candidate plans for the
// transforms model.qg makes at each grid size (FFTW_MEASURE, or the longer
// FFTW_PATIENT search) and writes them as FFTW wisdom to FILE, which
// `fft_planning: wisdom, fft_wisdom: FILE` then reads: the fast plan, and the
// same plan, hence the same bits, in every run that reads the file.
//
// Wisdom holds plans for the SIMD codelets of the machine that wrote it:
// write it on the machine kind that will read it (plugins/qg/README.md).
#include "fft.hpp"

#include <cstdio>
#include <exception>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s FILE [--patient] NX...\n", argv[0]);
    return 2;
  }
  const std::string file = argv[1];
  auto planning = assim::qg::Planning::Measure;
  std::vector<std::int64_t> sizes;
  for (int i = 2; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--patient") {
      planning = assim::qg::Planning::Patient;
      continue;
    }
    std::size_t used = 0;
    long long nx = 0;
    try {
      nx = std::stoll(arg, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != arg.size() || nx < 2 || nx % 2 != 0) {
      std::fprintf(stderr, "%s: '%s' is not an even grid size\n", argv[0], arg.c_str());
      return 2;
    }
    sizes.push_back(nx);
  }
  if (sizes.empty()) {
    std::fprintf(stderr, "%s: no grid size given\n", argv[0]);
    return 2;
  }
  try {
    assim::qg::write_wisdom(file, sizes, planning);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", argv[0], e.what());
    return 1;
  }
  std::printf("wrote %s: FFTW %s wisdom for nx", file.c_str(),
              planning == assim::qg::Planning::Patient ? "patient" : "measure");
  for (auto nx : sizes) std::printf(" %lld", static_cast<long long>(nx));
  std::printf("\n");
  return 0;
}
