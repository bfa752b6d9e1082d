// What a full disk does to the writers: an Error that names the file and the
// reason, and nothing left that looks written. A limit on the size of the
// files this process writes (RLIMIT_FSIZE) stands for the full disk: a write
// past it fails with EFBIG, without root or a mount (tests/e2e/full_disk.sh
// fills a real one).
#include <assim/error.hpp>
#include <assim/framework/netcdf.hpp>
#include <assim/write_file.hpp>

#include <doctest/doctest.h>

#include <sys/resource.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

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

// The reason HDF5 hides behind "HDF error" is named, and the file is let go.
// (That the host no longer crashes at exit on such a file is
// tests/e2e/full_disk.sh's: this small file does not reach HDF5's crash.)
TEST_CASE("a NetCDF file whose data does not fit fails on close, naming the file and the reason") {
  const fs::path folder = fresh_folder("netcdf_full");
  const fs::path path = folder / "data.nc";
  const std::size_t frames = 1000, sites = 40;
  std::vector<double> time(frames, 0.5), site(sites, 1.0), x(frames * sites, 1.5);
  auto file = assim::netcdf::File::create(path);
  file.dimension("time", frames);
  file.dimension("site", sites);
  file.variable("time", "double", {"time"});
  file.variable("site", "double", {"site"});
  file.variable("x", "double", {"time", "site"});
  file.end_definitions();
  file.write("time", {0}, {frames}, time.data());
  file.write("site", {0}, {sites}, site.data());
  {
    FileSizeLimit limit(64 * 1024);
    // HDF5 keeps the chunk until the file is closed: the write succeeds, the close does not.
    try {
      file.write("x", {0, 0}, {frames, sites}, x.data());
      file.close();
      FAIL("no error on a full disk");
    } catch (const assim::Error& e) {
      CHECK(std::string(e.what()).find("NetCDF file " + path.string() + ": ") == 0);
      CHECK(std::string(e.what()).find("(File too large)") != std::string::npos);
    }
  }
  // Closed, not left open: closing again does nothing.
  CHECK_NOTHROW(file.close());
  fs::remove_all(folder);
}
