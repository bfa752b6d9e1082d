// Paths as the page shows them: the page may be copied to another machine or
// put on the web, so it names the results relative to the run folder (the
// folder holding one folder per stage) and no other path of the machine.
#pragma once

#include <filesystem>
#include <string>

namespace assim::report {

// `path` relative to `run_folder` when it lies inside it, else its file name alone.
std::string shown_path(const std::filesystem::path& path, const std::filesystem::path& run_folder);

// A stage record with every absolute path in it (results, plugin and host
// files, the BLAS library, the experiment file) replaced by its shown_path.
std::string without_machine_paths(const std::string& record, const std::filesystem::path& run_folder);

}  // namespace assim::report
