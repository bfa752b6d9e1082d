#include <assim/workers.hpp>

#include <ATen/Parallel.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <limits>
#include <mutex>
#include <thread>
#include <vector>

namespace assim::workers {

namespace {
std::atomic<int> worker_count{1};
std::atomic<int> threads_per_worker{1};
thread_local bool on_worker = false;

// The items of one call of each(): handed out in item order, so that every
// item below a failing one has started and the lowest failure is the same
// on any number of workers.
struct Round {
  std::mutex mutex;
  std::condition_variable changed;
  std::int64_t next = 0, ended = 0;
  int running;
  bool stop = false;
  std::int64_t failed_item = std::numeric_limits<std::int64_t>::max();
  std::exception_ptr failure;
  explicit Round(int workers) : running(workers) {}
};

void work(Round& round, std::int64_t items, const std::function<void(std::int64_t)>& solve) {
  on_worker = true;
  at::set_num_threads(threads());
  for (;;) {
    std::int64_t item;
    {
      std::lock_guard<std::mutex> lock(round.mutex);
      if (round.stop || round.next >= items) break;
      item = round.next++;
    }
    std::exception_ptr error;
    try {
      solve(item);
    } catch (...) {
      error = std::current_exception();
    }
    std::lock_guard<std::mutex> lock(round.mutex);
    ++round.ended;
    if (error) {
      round.stop = true;
      if (item < round.failed_item) {
        round.failed_item = item;
        round.failure = error;
      }
    }
    round.changed.notify_one();
  }
  std::lock_guard<std::mutex> lock(round.mutex);
  --round.running;
  round.changed.notify_one();
}
}  // namespace

int count() { return worker_count.load(); }
int threads() { return threads_per_worker.load(); }

void configure(int workers, int threads_each) {
  worker_count = std::max(1, workers);
  threads_per_worker = std::max(1, threads_each);
  at::set_num_threads(threads());
}

bool inside() { return on_worker; }

void each(std::int64_t items, const std::function<void(std::int64_t)>& solve,
          const std::function<void(std::int64_t)>& waiting) {
  const auto n = static_cast<int>(std::min<std::int64_t>(on_worker ? 1 : count(), items));
  if (n <= 1) {
    // Here, one after another: the same numbers, no thread to start.
    for (std::int64_t item = 0; item < items; ++item) {
      solve(item);
      if (waiting) waiting(item + 1);
    }
    return;
  }
  Round round(n);
  std::vector<std::thread> pool;
  for (int w = 0; w < n; ++w) pool.emplace_back(work, std::ref(round), items, std::cref(solve));
  std::int64_t reported = 0;
  for (;;) {
    std::unique_lock<std::mutex> lock(round.mutex);
    round.changed.wait(lock, [&] { return round.ended != reported || round.running == 0; });
    const std::int64_t ended = round.ended;
    const bool done = round.running == 0;
    lock.unlock();
    if (ended != reported && waiting) waiting(ended);
    reported = ended;
    if (done) break;
  }
  for (auto& thread : pool) thread.join();
  if (round.failure) std::rethrow_exception(round.failure);
}

}  // namespace assim::workers
