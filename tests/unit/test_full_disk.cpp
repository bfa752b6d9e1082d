// What a full disk does to the writers: an Error that names the file and the
// reason, and nothing left that looks written. A limit on the size of the
// files this process writes (RLIMIT_FSIZE) stands for the full disk: a write
// past it fails with EFBIG, without root or a mount (tests/e2e/full_disk.sh
// fills a real one).
#include <assim/error.hpp>
#include <assim/write_file.hpp>

#include <doctest/doctest.h>

#include <sys/resource.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace fs = std::filesystem;

namespace {

// While it lives, no file of this process grows past `bytes`; the signal a
// write past it raises is ignored, so that the write fails instead.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) : previous_(std::signal(SIGXFSZ, SIG_IGN)) {
    getrlimit(RLIMIT_FSIZE, &saved_);
    rlimit limit = saved_;
    limit.rlim_cur = bytes;
    setrlimit(RLIMIT_FSIZE, &limit);
  }
  ~FileSizeLimit() {
    setrlimit(RLIMIT_FSIZE, &saved_);
    std::signal(SIGXFSZ, previous_);
  }
  FileSizeLimit(const FileSizeLimit&) = delete;
  FileSizeLimit& operator=(const FileSizeLimit&) = delete;

 private:
  rlimit saved_{};
  void (*previous_)(int);
};

std::string read(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

fs::path fresh_folder(const std::string& name) {
  fs::path folder = fs::temp_directory_path() / ("assim_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(folder);
  fs::create_directories(folder);
  return folder;
}

}  // namespace

TEST_CASE("write_file replaces a file whole, and leaves nothing beside it") {
  const fs::path folder = fresh_folder("write_file");
  const fs::path file = folder / "record.yaml";
  assim::write_file(file, "first\n");
  assim::write_file(file, "second\n");
  CHECK(read(file) == "second\n");
  CHECK(std::distance(fs::directory_iterator(folder), fs::directory_iterator()) == 1);
  fs::remove_all(folder);
}

TEST_CASE("write_file on a full disk names the file and the reason, and keeps what was there") {
  const fs::path folder = fresh_folder("write_file_full");
  const fs::path file = folder / "stage.yaml";
  assim::write_file(file, "earlier\n");
  {
    FileSizeLimit limit(4096);
    CHECK_THROWS_WITH_AS(assim::write_file(file, std::string(10000, 'x')),
                         ("cannot write " + file.string() + ": File too large").c_str(), assim::Error);
  }
  CHECK(read(file) == "earlier\n");
  CHECK(std::distance(fs::directory_iterator(folder), fs::directory_iterator()) == 1);
  CHECK_THROWS_WITH_AS(assim::write_file(folder / "missing" / "x", "x"),
                       ("cannot write " + (folder / "missing" / "x").string() + ": No such file or directory").c_str(),
                       assim::Error);
  fs::remove_all(folder);
}
