#include <assim/team.hpp>

#include <assim/error.hpp>
#include <assim/workers.hpp>

#include <ATen/ATen.h>

#include <cstring>
#include <limits>
#include <utility>

namespace assim::team {

namespace {

struct Team {
  int rank = 0, size = 1;
  std::function<std::vector<std::string>(const std::string&)> all_gather;
};
// The team of the stage this thread runs; none: alone.
thread_local const Team* current = nullptr;

// Bytes of one rank's items: the first item, the number of items, then each
// tensor (defined, dtype, rank, sizes, values); or, where an item failed,
// the failed item and its message. Only ranks of one build on one kind of
// machine read each other's bytes (the host compares their builds).
class Writer {
 public:
  template <class T>
  void put(const T& value) {
    bytes_.append(reinterpret_cast<const char*>(&value), sizeof value);
  }
  void text(const std::string& s) {
    put(static_cast<std::int64_t>(s.size()));
    bytes_ += s;
  }
  void tensor(const at::Tensor& t) {
    put<std::int8_t>(t.defined());
    if (!t.defined()) return;
    const at::Tensor c = t.contiguous();
    put(static_cast<std::int8_t>(c.scalar_type()));
    put(static_cast<std::int64_t>(c.dim()));
    for (auto n : c.sizes()) put(static_cast<std::int64_t>(n));
    bytes_.append(static_cast<const char*>(c.data_ptr()), c.nbytes());
  }
  std::string& bytes() { return bytes_; }

 private:
  std::string bytes_;
};

class Reader {
 public:
  explicit Reader(const std::string& bytes) : bytes_(bytes) {}
  template <class T>
  T get() {
    T value;
    std::memcpy(&value, bytes_.data() + at_, sizeof value);
    at_ += sizeof value;
    return value;
  }
  std::string text() {
    const auto n = static_cast<std::size_t>(get<std::int64_t>());
    std::string s = bytes_.substr(at_, n);
    at_ += n;
    return s;
  }
  at::Tensor tensor() {
    if (!get<std::int8_t>()) return {};
    const auto type = static_cast<at::ScalarType>(get<std::int8_t>());
    std::vector<std::int64_t> sizes(static_cast<std::size_t>(get<std::int64_t>()));
    for (auto& n : sizes) n = get<std::int64_t>();
    at::Tensor t = at::empty(sizes, at::TensorOptions().dtype(type));
    std::memcpy(t.data_ptr(), bytes_.data() + at_, t.nbytes());
    at_ += t.nbytes();
    return t;
  }

 private:
  const std::string& bytes_;
  std::size_t at_ = 0;
};

}  // namespace

std::vector<std::vector<at::Tensor>> share(std::int64_t items,
                                           const std::function<std::vector<at::Tensor>(std::int64_t)>& solve) {
  std::vector<std::vector<at::Tensor>> results(static_cast<std::size_t>(items));
  const Team* team = current;
  const int rank = team ? team->rank : 0, size = team ? team->size : 1;
  const std::int64_t first = items * rank / size, last = items * (rank + 1) / size;
  std::int64_t failed = -1;
  std::string message;
  try {
    workers::each(last - first, [&](std::int64_t k) {
      results[static_cast<std::size_t>(first + k)] = solve(first + k);
    });
  } catch (const std::exception& e) {
    if (!team) throw;
    failed = first;  // this rank's block failed: the others are told, and all throw
    message = e.what();
  } catch (...) {
    if (!team) throw;
    failed = first;
    message = "a plugin threw something that is not a std::exception";
  }
  if (!team) return results;
  Writer out;
  out.put(failed);
  out.text(message);
  out.put(first);
  out.put(last - first);
  for (std::int64_t i = first; i < last && failed < 0; ++i) {
    const auto& tensors = results[static_cast<std::size_t>(i)];
    out.put(static_cast<std::int64_t>(tensors.size()));
    for (const auto& t : tensors) out.tensor(t);
  }
  const std::vector<std::string> all = team->all_gather(out.bytes());
  std::int64_t lowest = std::numeric_limits<std::int64_t>::max();
  std::string why;
  for (const auto& bytes : all) {
    Reader in(bytes);
    const auto f = in.get<std::int64_t>();
    const std::string m = in.text();
    if (f >= 0 && f < lowest) lowest = f, why = m;
  }
  if (!why.empty() || lowest != std::numeric_limits<std::int64_t>::max())
    throw Error(why.empty() ? "a rank of the team failed" : why);
  for (int r = 0; r < size; ++r) {
    if (r == rank) continue;
    Reader in(all[static_cast<std::size_t>(r)]);
    in.get<std::int64_t>();
    in.text();
    const auto from = in.get<std::int64_t>(), count = in.get<std::int64_t>();
    for (std::int64_t i = from; i < from + count; ++i) {
      auto& tensors = results[static_cast<std::size_t>(i)];
      tensors.resize(static_cast<std::size_t>(in.get<std::int64_t>()));
      for (auto& t : tensors) t = in.tensor();
    }
  }
  return results;
}

int size() { return current ? current->size : 1; }
int rank() { return current ? current->rank : 0; }
bool writes() { return rank() == 0; }

Scope::Scope(int rank, int size, std::function<std::vector<std::string>(const std::string&)> all_gather) {
  current = new Team{rank, size, std::move(all_gather)};
}

Scope::~Scope() {
  delete current;
  current = nullptr;
}

}  // namespace assim::team
