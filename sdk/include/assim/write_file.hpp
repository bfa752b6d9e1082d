// Writing a whole file, checked. A stream that is checked before it is
// flushed passes on a full disk and leaves a file cut short, or empty, that
// looks complete; every file the host and the plugins write goes through here.
#pragma once

#include <assim/abi.hpp>

#include <filesystem>
#include <string_view>

namespace assim {

// Writes `bytes` to `file`, replacing it: into a hidden file beside it, closed
// and checked, then renamed into place, so that `file` holds either all of
// `bytes` or what it held before. A failure (a full disk, a missing folder)
// removes what was written and throws an Error "cannot write FILE: REASON".
ASSIM_TOOLKIT void write_file(const std::filesystem::path& file, std::string_view bytes);

}  // namespace assim
