#include <assim/error.hpp>
#include <assim/write_file.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace assim {

namespace {

[[noreturn]] void fail(const std::filesystem::path& file, const std::filesystem::path& temporary, int why) {
  ::unlink(temporary.c_str());
  throw Error("cannot write " + file.string() + ": " + std::strerror(why));
}

}  // namespace

void write_file(const std::filesystem::path& file, std::string_view bytes) {
  // The process id keeps two ranks writing beside the same file apart.
  const std::filesystem::path temporary =
      file.parent_path() / ("." + file.filename().string() + ".partial-" + std::to_string(::getpid()));
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw Error("cannot write " + file.string() + ": " + std::strerror(errno));
  for (std::size_t done = 0; done < bytes.size();) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int why = errno;
      ::close(fd);
      fail(file, temporary, why);
    }
    done += static_cast<std::size_t>(n);
  }
  // close reports what a file system does only when the file is closed (NFS, quotas).
  if (::close(fd) != 0) fail(file, temporary, errno);
  if (::rename(temporary.c_str(), file.c_str()) != 0) fail(file, temporary, errno);
}

}  // namespace assim
