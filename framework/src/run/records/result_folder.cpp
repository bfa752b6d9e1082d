#include "result_folder.hpp"

#include <assim/error.hpp>
#include <assim/framework/experiment.hpp>
#include <assim/log.hpp>
#include <assim/write_file.hpp>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>

namespace assim {

namespace fs = std::filesystem;

namespace {

// What a killed run left behind is never reused: the hidden folders this host
// makes, `.<stage>.partial-<pid>` and `.<stage>.old-<pid>`, for the stages of
// this experiment. Anything else is not the host's to delete.
void clean_leftovers(const fs::path& folder, const std::vector<std::string>& stage_names) {
  for (const auto& entry : fs::directory_iterator(folder)) {
    if (!entry.is_directory() || entry.is_symlink()) continue;
    std::string n = entry.path().filename().string();
    for (const auto& stage : stage_names)
      for (const char* kind : {".partial-", ".old-"}) {
        std::string prefix = "." + stage + kind;
        if (n.size() > prefix.size() && n.rfind(prefix, 0) == 0 &&
            std::all_of(n.begin() + static_cast<std::ptrdiff_t>(prefix.size()), n.end(),
                        [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
          log::info("removing ", entry.path().string(), ", left by an interrupted run");
          fs::remove_all(entry.path());
        }
      }
  }
}

}  // namespace

ResultFolder::ResultFolder(fs::path folder, const std::vector<std::string>& stage_names, Role role)
    : folder_(std::move(folder)) {
  if (role == Role::Joined) {
    if (!fs::is_directory(folder_)) throw Error("rank 0 did not make the experiment's folder " + folder_.string());
    return;
  }
  std::error_code made;
  fs::create_directories(folder_, made);
  if (made || !fs::is_directory(folder_))
    throw Error("cannot make the experiment's folder " + folder_.string() + ": " +
                (made ? made.message() : std::string("a file of that name is in the way")));
  // One run at a time per experiment folder: an exclusive flock on its .lock.
  fs::path file = folder_ / ".lock";
  lock_ = ::open(file.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
  if (lock_ < 0)
    throw Error("cannot open the lock file " + file.string() + ": " + std::strerror(errno) +
                (errno == EISDIR ? " (a folder is in its place; remove it)" : ""));
  if (::flock(lock_, LOCK_EX | LOCK_NB) != 0) {
    int why = errno;
    ::close(lock_);
    if (why == EWOULDBLOCK) throw Error("another assim run is using " + folder_.string() + "; wait for it to finish");
    throw Error("cannot lock " + file.string() + ": " + std::strerror(why));
  }
  clean_leftovers(folder_, stage_names);
}

ResultFolder::~ResultFolder() {
  if (lock_ >= 0) ::close(lock_);
}

ResultFolder::StageLock::StageLock(const ResultFolder& folder, const std::string& stage) {
  const fs::path file = folder.path() / ("." + stage + ".lock");
  file_ = file;
  fd_ = ::open(file.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
  if (fd_ < 0) throw Error("cannot open the stage's lock file " + file.string() + ": " + std::strerror(errno));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd_);
    throw Error("stage '" + stage + "' is being written by another process (" + file.string() + " is locked)");
  }
}

// Removed while still held: a process that opened it meanwhile fails to lock
// it (LOCK_NB), and a finished stage leaves no file behind.
ResultFolder::StageLock::~StageLock() {
  std::error_code ignored;
  fs::remove(file_, ignored);
  ::close(fd_);
}

YAML::Node ResultFolder::record(const std::string& stage) const {
  const fs::path result = folder_ / stage;
  if (!fs::exists(result / stage_record_file)) return YAML::Node(YAML::NodeType::Map);
  try {
    YAML::Node record = YAML::LoadFile((result / stage_record_file).string());
    if (record.IsMap()) return record;
  } catch (const YAML::Exception&) {
  }
  return YAML::Node(YAML::NodeType::Map);
}

void ResultFolder::refuse_foreign(const std::string& stage) const {
  const fs::path result = folder_ / stage;
  if (fs::exists(fs::symlink_status(result)) && !fs::exists(result / stage_record_file))
    throw Error("stage '" + stage + "': " + result.string() + " exists but holds no stage record (" +
                stage_record_file + "), so assim did not write it; move it away or choose another --output");
}

std::string ResultFolder::find(const std::string& stage, const std::string& hash) const {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(folder_)) {
    const std::string n = entry.path().filename().string();
    if (entry.is_directory() && (n == stage || n.rfind(stage + "@", 0) == 0)) names.push_back(n);
  }
  std::sort(names.begin(), names.end());
  for (const auto& n : names)
    if (record(n)["hash"].as<std::string>("") == hash) return n;
  return "";
}

fs::path ResultFolder::partial(const std::string& stage) const {
  fs::path partial = folder_ / ("." + stage + ".partial-" + std::to_string(::getpid()));
  fs::remove_all(partial);
  fs::create_directories(partial);
  return partial;
}

fs::path ResultFolder::resume(const std::string& stage, const std::string& hash) const {
  return folder_ / ("." + stage + ".resume-" + hash);
}

void ResultFolder::commit(const std::string& stage, const fs::path& partial, const std::string& record) const {
  // The result appears under its name only now, complete. What was there
  // holds a stage record (refuse_foreign): an earlier result of this stage.
  // A record that cannot be written (a full disk) commits nothing: the
  // earlier result stays.
  const fs::path result = folder_ / stage;
  fs::path old = folder_ / ("." + stage + ".old-" + std::to_string(::getpid()));
  try {
    write_file(partial / stage_record_file, record + "\n");
    if (fs::exists(fs::symlink_status(result))) fs::rename(result, old);
    fs::rename(partial, result);
  } catch (...) {
    std::error_code ignored;
    if (fs::exists(fs::symlink_status(old)) && !fs::exists(fs::symlink_status(result))) fs::rename(old, result, ignored);
    throw;
  }
  fs::remove_all(old);
  // Resume folders of this stage, under any hash, are spent.
  for (const auto& leftover : fs::directory_iterator(folder_))
    if (leftover.path().filename().string().rfind("." + stage + ".resume-", 0) == 0) fs::remove_all(leftover.path());
}

void ResultFolder::failed(const fs::path& partial) const { fs::remove_all(partial); }

void ResultFolder::rewrite_record(const std::string& stage, const std::string& record) const {
  write_file(folder_ / stage / stage_record_file, record + "\n");
}

}  // namespace assim
