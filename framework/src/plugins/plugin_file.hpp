// The info record of a plugin read from its file as data, without loading
// it: loading runs the library's constructors, so a library built for another
// ABI, or one that is no plugin at all, is refused before any of its code runs.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace assim {

struct PluginFileInfo {
  bool elf = false;          // a 64-bit little-endian ELF shared library
  std::string not_elf_why;   // why not, when elf is false
  bool has_info = false;     // exports assim_plugin_info
  bool has_register = false; // exports assim_plugin_register
  std::uint32_t abi_version = 0;
  std::string sdk_version, name, version;  // "" where the record could not be read
};

// Reads the ELF dynamic symbol table and the record's bytes (and the
// relocations that point its strings into the file). Never throws for a
// damaged file: it says so in `not_elf_why`.
PluginFileInfo read_plugin_file(const std::filesystem::path& file);

}  // namespace assim
