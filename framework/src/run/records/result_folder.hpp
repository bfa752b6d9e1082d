// The experiment's folder of results: one run at a time (a lock), what a
// killed run left cleaned, and every stage's result written into a temporary
// folder and renamed into place only when complete, with its record.
#pragma once

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <string>
#include <vector>

namespace assim {

class ResultFolder {
 public:
  // Makes and locks `folder`, and removes what an interrupted run of these
  // stages left; errors say why the folder cannot be used. The other ranks
  // of a run join the folder rank 0 opened: no lock, nothing cleaned.
  enum class Role { Owner, Joined };
  ResultFolder(std::filesystem::path folder, const std::vector<std::string>& stage_names, Role role = Role::Owner);
  ~ResultFolder();
  ResultFolder(const ResultFolder&) = delete;
  ResultFolder& operator=(const ResultFolder&) = delete;

  const std::filesystem::path& path() const { return folder_; }
  std::filesystem::path result(const std::string& stage) const { return folder_ / stage; }
  // The stage's record, or an empty map when there is none or it cannot be
  // read (a damaged record is the same as no result).
  YAML::Node record(const std::string& stage) const;
  // The result of `stage` under any variant (`stage` or `stage@NAME`) whose
  // record holds `hash`, by folder name; "" when there is none.
  std::string find(const std::string& stage, const std::string& hash) const;
  // Refuses a folder in the stage's place that no stage record marks as
  // assim's: it is someone else's, and is never replaced.
  void refuse_foreign(const std::string& stage) const;
  // A fresh, empty temporary folder for the stage to write into.
  std::filesystem::path partial(const std::string& stage) const;
  // Where long work of the stage under this hash keeps checkpoints.
  std::filesystem::path resume(const std::string& stage, const std::string& hash) const;
  // Writes `record` into `partial`, puts `partial` in the stage's place and
  // removes the stage's resume folders; where that fails (a full disk), it
  // keeps what was in the stage's place and throws. `failed` removes
  // `partial`, of a stage that failed or could not be committed.
  void commit(const std::string& stage, const std::filesystem::path& partial, const std::string& record) const;
  void failed(const std::filesystem::path& partial) const;
  // Replaces the record of the stage's result in place (written beside it
  // and renamed over it): the outputs are untouched.
  void rewrite_record(const std::string& stage, const std::string& record) const;
  // Held while one rank writes the stage: a second writer of the same stage
  // (a bug in the schedule, or a run that ignored the folder's lock) is
  // refused rather than mixed in.
  class StageLock {
   public:
    StageLock(const ResultFolder& folder, const std::string& stage);
    ~StageLock();
    StageLock(const StageLock&) = delete;
    StageLock& operator=(const StageLock&) = delete;

   private:
    std::filesystem::path file_;
    int fd_ = -1;
  };

 private:
  std::filesystem::path folder_;
  int lock_ = -1;
};

}  // namespace assim
