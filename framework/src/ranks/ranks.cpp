#include <assim/error.hpp>
#include <assim/framework/ranks.hpp>
#include <assim/log.hpp>
#include <assim/workers.hpp>

#ifdef ASSIM_HAVE_MPI
#include <mpi.h>
#endif

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <thread>

namespace assim {

namespace {

// Started by a launcher: Open MPI's mpirun, MPICH's hydra, or a job step of
// srun (SLURM_STEP_NUM_TASKS is set inside srun only, not in the batch script).
int launched_size() {
  for (const char* key : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_STEP_NUM_TASKS"})
    if (const char* value = std::getenv(key)) return std::max(1, std::atoi(value));
  return 1;
}

bool mpi_running = false;
bool failure_agreed = false;
std::uint64_t sent = 0;

}  // namespace

struct Ranks::Group {
#ifdef ASSIM_HAVE_MPI
  MPI_Comm comm = MPI_COMM_NULL;
  bool owned = false;
  ~Group() {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (owned && !finalized) MPI_Comm_free(&comm);
  }
#endif
  int rank = 0, size = 1, local = 1;
};

Ranks::Ranks(std::shared_ptr<Group> group) : group_(std::move(group)) {}

void Ranks::start(int& argc, char**& argv) {
  const int launched = launched_size();
#ifdef ASSIM_HAVE_MPI
  if (launched > 1 || std::getenv("OMPI_COMM_WORLD_SIZE")) {
    int provided = 0;
    // Only the main thread talks to MPI; LibTorch's threads never do.
    MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
    mpi_running = true;
    const Ranks& w = world();
    if (w.size() > 1) log::set_prefix("rank " + std::to_string(w.rank()) + "/" + std::to_string(w.size()));
  }
#else
  (void)argc;
  (void)argv;
  if (launched > 1) {
    std::cerr << "assim: error: " << launched << " copies of assim were launched (mpirun or srun), but this build "
              << "has no MPI: each would run the whole experiment. Install libopenmpi-dev (scripts/setup) and "
              << "rebuild, or run one copy\n";
    std::exit(2);
  }
#endif
}

int Ranks::stop(int status) {
#ifdef ASSIM_HAVE_MPI
  if (mpi_running) {
    if (status != 0 && !failure_agreed && world().size() > 1) MPI_Abort(MPI_COMM_WORLD, status);
    MPI_Finalize();
    mpi_running = false;
  }
#endif
  return status;
}

const Ranks& Ranks::world() {
  static const Ranks w = [] {
    auto g = std::make_shared<Group>();
#ifdef ASSIM_HAVE_MPI
    if (mpi_running) {
      g->comm = MPI_COMM_WORLD;
      MPI_Comm_rank(g->comm, &g->rank);
      MPI_Comm_size(g->comm, &g->size);
      MPI_Comm shared;
      MPI_Comm_split_type(g->comm, MPI_COMM_TYPE_SHARED, g->rank, MPI_INFO_NULL, &shared);
      MPI_Comm_size(shared, &g->local);
      MPI_Comm_free(&shared);
    }
#endif
    return Ranks(g);
  }();
  return w;
}

const Ranks& Ranks::self() {
  static const Ranks s = [] {
    auto g = std::make_shared<Group>();
#ifdef ASSIM_HAVE_MPI
    if (mpi_running) g->comm = MPI_COMM_SELF;
#endif
    return Ranks(g);
  }();
  return s;
}

int Ranks::rank() const { return group_->rank; }
int Ranks::size() const { return group_->size; }
int Ranks::on_this_machine() const { return group_->local; }

std::string Ranks::name() const {
  return size() > 1 ? "rank " + std::to_string(rank()) + " of " + std::to_string(size()) : "";
}

Ranks Ranks::split(int color) const {
  if (size() == 1) return *this;
#ifdef ASSIM_HAVE_MPI
  auto g = std::make_shared<Group>();
  MPI_Comm_split(group_->comm, color, group_->rank, &g->comm);
  g->owned = true;
  MPI_Comm_rank(g->comm, &g->rank);
  MPI_Comm_size(g->comm, &g->size);
  g->local = std::min(g->size, group_->local);
  return Ranks(g);
#else
  (void)color;
  return *this;
#endif
}

std::vector<std::string> Ranks::all_gather(const std::string& bytes) const {
  return exchange(bytes, Purpose::Data);
}

// Every collective of a group starts by exchanging (purpose, size). A rank
// that failed inside a stage enters together() while the others may still
// gather data: a data exchange that meets an agreement throws, so that the
// rank unwinds to its own together(); the agreement repeats its first step
// until every rank has arrived. No rank is left waiting for one that failed.
std::vector<std::string> Ranks::exchange(const std::string& bytes, Purpose purpose) const {
  if (size() == 1) return {bytes};
#ifdef ASSIM_HAVE_MPI
  const long long mine[2] = {static_cast<long long>(purpose), static_cast<long long>(bytes.size())};
  std::vector<long long> heads(2 * static_cast<std::size_t>(size()));
  for (;;) {
    MPI_Allgather(mine, 2, MPI_LONG_LONG, heads.data(), 2, MPI_LONG_LONG, group_->comm);
    bool agreeing = false, all_agree = true;
    for (int r = 0; r < size(); ++r) {
      const bool agree = heads[2 * static_cast<std::size_t>(r)] == static_cast<long long>(Purpose::Agreement);
      agreeing = agreeing || agree;
      all_agree = all_agree && agree;
    }
    if (purpose == Purpose::Data && agreeing)
      throw RemoteFailure("another rank of the stage failed; this one stops");
    if (purpose == Purpose::Data || all_agree) break;
  }
  std::vector<int> counts(static_cast<std::size_t>(size())), offsets(counts.size());
  long long total = 0;
  for (std::size_t r = 0; r < counts.size(); ++r) {
    const long long n = heads[2 * r + 1];
    if (total + n > INT_MAX)
      throw Error("ranks would exchange more than 2 GiB in one step (" + std::to_string(total + n) +
                  " bytes); use fewer windows, members or frames per stage, or keep_samples: false");
    counts[r] = static_cast<int>(n);
    offsets[r] = static_cast<int>(total);
    total += n;
  }
  std::string all(static_cast<std::size_t>(total), '\0');
  MPI_Allgatherv(bytes.data(), static_cast<int>(bytes.size()), MPI_BYTE, all.data(), counts.data(), offsets.data(),
                 MPI_BYTE, group_->comm);
  sent += bytes.size() * static_cast<std::uint64_t>(size() - 1);
  std::vector<std::string> out;
  for (std::size_t r = 0; r < counts.size(); ++r) out.push_back(all.substr(offsets[r], counts[r]));
  return out;
#else
  (void)purpose;
  return {bytes};
#endif
}

void Ranks::together(const std::function<void()>& work) const {
  std::exception_ptr failure;
  bool remote = false;
  std::string message;
  try {
    work();
  } catch (const RemoteFailure& e) {
    failure = std::current_exception();
    remote = true;
    message = e.what();
  } catch (const std::exception& e) {
    failure = std::current_exception();
    message = (world().size() > 1 ? world().name() + ": " : "") + without_backtrace(e.what());
  } catch (...) {
    failure = std::current_exception();
    message = world().name() + ": a plugin threw something that is not a std::exception";
  }
  if (size() == 1) {
    if (failure) std::rethrow_exception(failure);
    return;
  }
  // The failure to report is the first rank's own (not one it heard of): that
  // rank rethrows it and prints it; the others stop quietly. An error every
  // rank met alike (a missing input) is so printed once.
  const auto outcomes =
      exchange(Packer().integer(failure ? 1 : 0).integer(remote ? 1 : 0).text(message).bytes(), Purpose::Agreement);
  int origin = -1, heard = -1;
  std::string origin_message, heard_message;
  for (int r = 0; r < static_cast<int>(outcomes.size()); ++r) {
    Unpacker in(outcomes[static_cast<std::size_t>(r)]);
    const bool failed = in.integer() == 1, was_heard = in.integer() == 1;
    const std::string text = in.text();
    if (failed && !was_heard && origin < 0) origin = r, origin_message = text;
    if (failed && was_heard && heard < 0) heard = r, heard_message = text;
  }
  if (origin < 0 && heard < 0) return;
  failure_agreed = true;
  if (origin == rank()) std::rethrow_exception(failure);
  throw RemoteFailure(origin >= 0 ? origin_message : heard_message);
}

std::uint64_t Ranks::bytes_sent() const { return sent; }

std::pair<std::int64_t, std::int64_t> Ranks::block(std::int64_t count) const {
  return {count * rank() / size(), count * (rank() + 1) / size()};
}

at::Tensor Ranks::all_gather_blocks(const at::Tensor& block) const {
  if (size() == 1) return block;
  std::vector<at::Tensor> parts;
  for (const auto& bytes : all_gather(Packer().tensor(block).bytes())) parts.push_back(Unpacker(bytes).tensor());
  return at::cat(parts, 0);
}

void Packer::raw(const void* data, std::size_t size) { bytes_.append(static_cast<const char*>(data), size); }
Packer& Packer::integer(std::int64_t value) {
  raw(&value, sizeof value);
  return *this;
}
Packer& Packer::real(double value) {
  raw(&value, sizeof value);
  return *this;
}
Packer& Packer::text(const std::string& value) {
  integer(static_cast<std::int64_t>(value.size()));
  raw(value.data(), value.size());
  return *this;
}
Packer& Packer::reals(const std::vector<double>& values) {
  integer(static_cast<std::int64_t>(values.size()));
  raw(values.data(), values.size() * sizeof(double));
  return *this;
}
Packer& Packer::tensor(const at::Tensor& value) {
  if (!value.defined()) return integer(-1);
  const at::Tensor c = value.contiguous();
  integer(c.dim());
  for (auto n : c.sizes()) integer(n);
  integer(static_cast<std::int64_t>(c.scalar_type()));
  raw(c.data_ptr(), c.nbytes());
  return *this;
}

void Unpacker::raw(void* data, std::size_t size) {
  if (at_ + size > bytes_.size()) throw Error("a message between ranks ended early (a bug in the host)");
  std::memcpy(data, bytes_.data() + at_, size);
  at_ += size;
}
std::int64_t Unpacker::integer() {
  std::int64_t v = 0;
  raw(&v, sizeof v);
  return v;
}
double Unpacker::real() {
  double v = 0;
  raw(&v, sizeof v);
  return v;
}
std::string Unpacker::text() {
  std::string s(static_cast<std::size_t>(integer()), '\0');
  raw(s.data(), s.size());
  return s;
}
std::vector<double> Unpacker::reals() {
  std::vector<double> v(static_cast<std::size_t>(integer()));
  raw(v.data(), v.size() * sizeof(double));
  return v;
}
at::Tensor Unpacker::tensor() {
  const std::int64_t dims = integer();
  if (dims < 0) return {};
  std::vector<std::int64_t> sizes(static_cast<std::size_t>(dims));
  for (auto& n : sizes) n = integer();
  const auto type = static_cast<at::ScalarType>(integer());
  at::Tensor t = at::empty(sizes, at::TensorOptions().dtype(type));
  raw(t.data_ptr(), t.nbytes());
  return t;
}

void configure_workers(int workers, int threads) {
  if (workers < 0 || threads < 0) throw Error("--workers and --threads take 0 (automatic) or more");
  const int cores = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  const char* omp = std::getenv("OMP_NUM_THREADS");
  const int each = threads > 0 ? threads : (omp && std::atoi(omp) > 0 ? std::atoi(omp) : 1);
  // Ranks on one machine each take their share of its cores.
  const int n = workers > 0 ? workers : std::max(1, cores / Ranks::world().on_this_machine() / each);
  if (n * each > 4 * cores)
    throw Error("--workers " + std::to_string(n) + " x --threads " + std::to_string(each) +
                " is more than 4 threads per core of this machine (" + std::to_string(cores) + " cores)");
  workers::configure(n, each);
}

}  // namespace assim
