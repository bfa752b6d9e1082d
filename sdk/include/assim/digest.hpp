// Stable 64-bit digests (FNV-1a) of text and of files: enough to tell
// settings apart and to notice a file whose bytes changed (a damaged result, a
// flipped bit in a checkpoint). Not a defence against deliberate tampering.
#pragma once

#include <assim/abi.hpp>

#include <cstdint>
#include <filesystem>
#include <string>

namespace assim {

ASSIM_TOOLKIT std::uint64_t fnv1a(const std::string& text);
// 16 lowercase hex digits.
ASSIM_TOOLKIT std::string hex_digest(std::uint64_t value);
// "<bytes> fnv1a:<hex>" of a file's content; "missing" when there is no
// regular file at `file`, "unreadable" when it cannot be opened.
ASSIM_TOOLKIT std::string file_digest(const std::filesystem::path& file);

}  // namespace assim
