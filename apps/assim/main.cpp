// The host: main prepares the process; cli.cpp reads the command line; the
// framework does the rest.
#include "cli.hpp"

#include <malloc.h>

int main(int argc, char** argv) {
  // glibc returning freed tensor memory to the OS at once halves LibTorch's
  // CPU speed here (measured 26-28 ms -> 12 ms per U-Net forward): keep it.
  mallopt(M_MMAP_THRESHOLD, 256 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  return assim::command_line(argc, argv);
}
