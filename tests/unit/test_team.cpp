// sdk team.hpp without MPI: two threads play two ranks, each with its team
// installed and an all_gather that meets the other at a barrier.
#include <assim/team.hpp>
#include <assim/workers.hpp>

#include <ATen/ATen.h>
#include <doctest/doctest.h>

#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

// The all_gather of `size` threads: each hands in its bytes and gets every one's, in rank order.
class Meeting {
 public:
  explicit Meeting(int size) : size_(size), bytes_(static_cast<std::size_t>(size)) {}
  std::vector<std::string> all_gather(int rank, const std::string& bytes) {
    std::unique_lock<std::mutex> lock(mutex_);
    const int round = round_;
    bytes_[static_cast<std::size_t>(rank)] = bytes;
    if (++arrived_ == size_) {
      gathered_ = bytes_;
      arrived_ = 0;
      ++round_;
      changed_.notify_all();
    } else {
      changed_.wait(lock, [&] { return round_ != round; });
    }
    return gathered_;
  }

 private:
  int size_, arrived_ = 0, round_ = 0;
  std::vector<std::string> bytes_, gathered_;
  std::mutex mutex_;
  std::condition_variable changed_;
};

// Runs work(rank) on two threads, each as one rank of a team of two.
template <class Work>
void as_two_ranks(Work work) {
  Meeting meeting(2);
  std::vector<std::thread> ranks;
  for (int r = 0; r < 2; ++r)
    ranks.emplace_back([&, r] {
      assim::team::Scope team(r, 2, [&, r](const std::string& bytes) { return meeting.all_gather(r, bytes); });
      work(r);
    });
  for (auto& t : ranks) t.join();
}

// The workers as a test sets them, and as they were after it.
class Workers {
 public:
  explicit Workers(int count) : count_(assim::workers::count()), threads_(assim::workers::threads()) {
    assim::workers::configure(count, 1);
  }
  ~Workers() { assim::workers::configure(count_, threads_); }

 private:
  int count_, threads_;
};

}  // namespace

TEST_CASE("a team's ranks each solve their block and all get every item's tensors in item order") {
  const Workers one(1);
  std::vector<std::vector<std::vector<at::Tensor>>> got(2);
  std::vector<std::vector<std::int64_t>> solved(2);
  std::vector<bool> writes(2);
  as_two_ranks([&](int r) {
    writes[static_cast<std::size_t>(r)] = assim::team::writes();
    got[static_cast<std::size_t>(r)] = assim::team::share(5, [&](std::int64_t item) {
      solved[static_cast<std::size_t>(r)].push_back(item);
      if (item == 3) return std::vector<at::Tensor>{};  // an item may give nothing
      return std::vector<at::Tensor>{at::full({2, 3}, static_cast<double>(item)), at::Tensor(),
                                     at::arange(item, at::kLong)};
    });
  });
  CHECK(solved[0] == std::vector<std::int64_t>{0, 1});
  CHECK(solved[1] == std::vector<std::int64_t>{2, 3, 4});
  CHECK(writes[0]);
  CHECK_FALSE(writes[1]);
  for (const auto& all : got) {
    REQUIRE(all.size() == 5);
    for (std::int64_t item = 0; item < 5; ++item) {
      const auto& tensors = all[static_cast<std::size_t>(item)];
      if (item == 3) {
        CHECK(tensors.empty());
        continue;
      }
      REQUIRE(tensors.size() == 3);
      CHECK(at::equal(tensors[0], at::full({2, 3}, static_cast<double>(item))));
      CHECK_FALSE(tensors[1].defined());
      CHECK((tensors[2].scalar_type() == at::kLong));
      CHECK(at::equal(tensors[2], at::arange(item, at::kLong)));
    }
  }
}

TEST_CASE("a failure on one rank of a team is thrown on every rank") {
  const Workers one(1);
  std::vector<std::string> errors(2);
  as_two_ranks([&](int r) {
    try {
      assim::team::share(4, [&](std::int64_t item) -> std::vector<at::Tensor> {
        if (item == 3) throw std::runtime_error("shard 3 diverged");
        return {at::ones({1})};
      });
    } catch (const std::exception& e) {
      errors[static_cast<std::size_t>(r)] = e.what();
    }
  });
  CHECK(errors[0].find("shard 3 diverged") != std::string::npos);
  CHECK(errors[1].find("shard 3 diverged") != std::string::npos);
}

TEST_CASE("alone, share solves every item here and writes") {
  const Workers two(2);
  const auto all = assim::team::share(3, [](std::int64_t item) { return std::vector<at::Tensor>{at::full({1}, item)}; });
  REQUIRE(all.size() == 3);
  for (std::int64_t item = 0; item < 3; ++item) CHECK(all[static_cast<std::size_t>(item)][0].item<std::int64_t>() == item);
  CHECK(assim::team::writes());
  CHECK(assim::team::size() == 1);
}
