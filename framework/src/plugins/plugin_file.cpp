#include "plugin_file.hpp"

#include <assim/abi.hpp>

#include <elf.h>

#include <cstddef>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>
#include <vector>

namespace assim {

namespace {

static_assert(offsetof(assim_plugin_info, abi_version) == 0 && offsetof(assim_plugin_info, sdk_version) == 8 &&
                  offsetof(assim_plugin_info, name) == 16 && offsetof(assim_plugin_info, version) == 24,
              "read_plugin_file reads assim_plugin_info at these offsets");

class Image {
 public:
  explicit Image(std::vector<char> bytes) : bytes_(std::move(bytes)) {}

  template <class T>
  std::optional<T> at(std::uint64_t offset) const {
    if (offset > bytes_.size() || sizeof(T) > bytes_.size() - offset) return std::nullopt;
    T value;
    std::memcpy(&value, bytes_.data() + offset, sizeof(T));
    return value;
  }

  std::optional<std::string> c_string(std::uint64_t offset, std::size_t longest = 256) const {
    std::string out;
    for (std::uint64_t i = offset; i < bytes_.size() && out.size() < longest; ++i) {
      if (bytes_[i] == '\0') return out;
      out += bytes_[i];
    }
    return std::nullopt;
  }

  std::size_t size() const { return bytes_.size(); }

 private:
  std::vector<char> bytes_;
};

// A 64-bit little-endian shared library's tables, as far as the plugin
// record needs them.
struct Elf {
  const Image& image;
  std::vector<Elf64_Shdr> sections;
  std::vector<Elf64_Phdr> segments;

  // Virtual address -> file offset, through the loadable segments.
  std::optional<std::uint64_t> offset_of(std::uint64_t address, std::uint64_t length) const {
    for (const auto& p : segments)
      if (p.p_type == PT_LOAD && address >= p.p_vaddr && address + length <= p.p_vaddr + p.p_filesz)
        return p.p_offset + (address - p.p_vaddr);
    return std::nullopt;
  }

  // The pointer at `address`: in a shared library the loader fills pointers
  // in data from relative relocations, whose addends are the addresses they
  // point to; a library linked without them holds the address itself.
  std::optional<std::uint64_t> pointer_at(std::uint64_t address) const {
    for (const auto& s : sections) {
      if (s.sh_type != SHT_RELA || s.sh_entsize == 0) continue;
      for (std::uint64_t k = 0; k < s.sh_size / s.sh_entsize; ++k) {
        auto r = image.at<Elf64_Rela>(s.sh_offset + k * s.sh_entsize);
        if (!r || r->r_offset != address) continue;
        auto type = ELF64_R_TYPE(r->r_info);
        if (type == R_X86_64_RELATIVE || type == R_AARCH64_RELATIVE) return static_cast<std::uint64_t>(r->r_addend);
        return std::nullopt;  // resolved against a symbol: not plain data
      }
    }
    auto at = offset_of(address, 8);
    if (!at) return std::nullopt;
    return image.at<std::uint64_t>(*at);
  }

  // The C string the pointer at `address` points to; "" where there is none.
  std::string string_at(std::uint64_t address) const {
    auto pointer = pointer_at(address);
    if (!pointer || *pointer == 0) return "";
    auto at = offset_of(*pointer, 1);
    if (!at) return "";
    return image.c_string(*at).value_or("");
  }
};

// "" once `elf` holds the image's section and program headers, else why it
// is no 64-bit little-endian shared library.
std::string read_tables(Elf& elf) {
  const Image& image = elf.image;
  auto header = image.at<Elf64_Ehdr>(0);
  if (!header || std::memcmp(header->e_ident, ELFMAG, SELFMAG) != 0)
    return "is not a valid shared library (no ELF header)";
  if (header->e_ident[EI_CLASS] != ELFCLASS64 || header->e_ident[EI_DATA] != ELFDATA2LSB)
    return "is not a 64-bit little-endian ELF library";
  if (header->e_type != ET_DYN) return "is an ELF file but not a shared library";
  for (std::uint16_t i = 0; i < header->e_shnum; ++i) {
    auto s = image.at<Elf64_Shdr>(header->e_shoff + std::uint64_t{i} * header->e_shentsize);
    if (!s) return "is not a valid shared library (its section table is cut short)";
    elf.sections.push_back(*s);
  }
  for (std::uint16_t i = 0; i < header->e_phnum; ++i) {
    auto p = image.at<Elf64_Phdr>(header->e_phoff + std::uint64_t{i} * header->e_phentsize);
    if (!p) return "is not a valid shared library (its program headers are cut short)";
    elf.segments.push_back(*p);
  }
  return "";
}

// Notes which of the plugin's two symbols the library exports; the address
// of its assim_plugin_info, when it exports one large enough.
std::optional<std::uint64_t> plugin_symbols(const Elf& elf, PluginFileInfo& info) {
  std::optional<std::uint64_t> record;
  for (const auto& s : elf.sections) {
    if (s.sh_type != SHT_DYNSYM || s.sh_link >= elf.sections.size() || s.sh_entsize == 0) continue;
    const auto& strings = elf.sections[s.sh_link];
    for (std::uint64_t k = 0; k < s.sh_size / s.sh_entsize; ++k) {
      auto symbol = elf.image.at<Elf64_Sym>(s.sh_offset + k * s.sh_entsize);
      if (!symbol || symbol->st_shndx == SHN_UNDEF) continue;
      auto name = elf.image.c_string(strings.sh_offset + symbol->st_name);
      if (!name) continue;
      if (*name == "assim_plugin_register") info.has_register = true;
      if (*name == "assim_plugin_info" && symbol->st_size >= sizeof(assim_plugin_info)) {
        info.has_info = true;
        record = symbol->st_value;
      }
    }
  }
  return record;
}

}  // namespace

PluginFileInfo read_plugin_file(const std::filesystem::path& file) {
  PluginFileInfo info;
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    info.not_elf_why = "cannot be read";
    return info;
  }
  Image image(std::vector<char>(std::istreambuf_iterator<char>(in), {}));
  Elf elf{image, {}, {}};
  info.not_elf_why = read_tables(elf);
  if (!info.not_elf_why.empty()) return info;
  info.elf = true;
  const std::optional<std::uint64_t> record = plugin_symbols(elf, info);
  if (!record) return info;
  if (auto at = elf.offset_of(*record, 4)) info.abi_version = image.at<std::uint32_t>(*at).value_or(0);
  // The layout of assim_plugin_info (abi.hpp): a uint32, then three pointers.
  info.sdk_version = elf.string_at(*record + 8);
  info.name = elf.string_at(*record + 16);
  info.version = elf.string_at(*record + 24);
  return info;
}

}  // namespace assim
