// The processes of one run: a single one, or the ranks `mpirun -n R assim
// run` (or srun) starts. The host spreads stages, windows, ensemble members
// and trajectories over them and gathers what they computed; plugins never
// see them and stay serial code. Built without MPI, or started without a
// launcher, the run is one rank and every collective is a copy.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace assim {

class Ranks {
 public:
  // Starts MPI when a launcher (mpirun, srun) started this process; call
  // first thing in main. `stop` ends it with the process's exit status: a
  // rank that failed on its own aborts the others (they would wait for it
  // forever), a failure every rank agreed on (together) ends cleanly.
  static void start(int& argc, char**& argv);
  static int stop(int status);
  // Every rank of the run, and this rank on its own.
  static const Ranks& world();
  static const Ranks& self();

  int rank() const;
  int size() const;
  bool leader() const { return rank() == 0; }
  // Ranks of this group sharing this rank's machine (for the thread policy).
  int on_this_machine() const;
  // The ranks of this group that pass the same `color`, in rank order.
  Ranks split(int color) const;

  // Every rank's bytes, in rank order, on every rank.
  std::vector<std::string> all_gather(const std::string& bytes) const;
  // Runs `work` on every rank of the group and agrees on the outcome: when it
  // throws on any rank, it throws on all, the rank that failed rethrowing its
  // own error and the others an error naming that rank and its message.
  void together(const std::function<void()>& work) const;
  // Bytes this rank has sent in collectives so far (for the scaling table).
  std::uint64_t bytes_sent() const;
  // "rank 1 of 2" where there are several, else empty.
  std::string name() const;

  // The share [first, last) of `count` items (trajectories, members) that is
  // this rank's: contiguous blocks in rank order, so that gathering them in
  // rank order puts the items back in order.
  std::pair<std::int64_t, std::int64_t> block(std::int64_t count) const;
  // Blocks of every rank gathered along dim 0, in order, on every rank.
  at::Tensor all_gather_blocks(const at::Tensor& block) const;

  struct Group;

 private:
  explicit Ranks(std::shared_ptr<Group> group);
  enum class Purpose { Data = 0, Agreement = 1 };
  std::vector<std::string> exchange(const std::string& bytes, Purpose purpose) const;
  std::shared_ptr<Group> group_;
};

// Sets this rank's workers and each one's tensor threads (sdk workers.hpp),
// for every front end (the command line's --workers and --threads, the Python
// module's arguments). `threads` 0: OMP_NUM_THREADS if set, else 1; `workers`
// 0: the cores of this machine shared out among its ranks, divided by the
// threads. Throws Error for a negative count, or more than 4 threads per core
// (they only contend; thousands would take minutes to start).
void configure_workers(int workers, int threads);

// A failure another rank had, thrown on every rank that agreed on it; the
// host prints it once, where it happened.
struct RemoteFailure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Values packed into bytes to cross ranks and read back in the same order,
// bit for bit (tensors keep dtype and shape).
class Packer {
 public:
  Packer& integer(std::int64_t value);
  Packer& real(double value);
  Packer& text(const std::string& value);
  Packer& reals(const std::vector<double>& values);
  Packer& tensor(const at::Tensor& value);  // undefined stays undefined
  const std::string& bytes() const { return bytes_; }

 private:
  void raw(const void* data, std::size_t size);
  std::string bytes_;
};

class Unpacker {
 public:
  explicit Unpacker(const std::string& bytes) : bytes_(bytes) {}
  std::int64_t integer();
  double real();
  std::string text();
  std::vector<double> reals();
  at::Tensor tensor();

 private:
  void raw(void* data, std::size_t size);
  const std::string& bytes_;
  std::size_t at_ = 0;
};

}  // namespace assim
