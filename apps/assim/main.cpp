// The host: main prepares the process; cli.cpp reads the command line; the
// framework does the rest.
#include "cli.hpp"

#include <assim/framework/ranks.hpp>
#include <assim/process.hpp>

int main(int argc, char** argv) {
  assim::prepare_process();
  // Under mpirun or srun, before anything reads the command line.
  assim::Ranks::start(argc, argv);
  return assim::Ranks::stop(assim::command_line(argc, argv));
}
