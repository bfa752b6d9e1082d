#include <assim/digest.hpp>

#include <cstdio>
#include <fstream>
#include <vector>

namespace assim {

namespace {
constexpr std::uint64_t fnv_offset = 1469598103934665603ull;
constexpr std::uint64_t fnv_prime = 1099511628211ull;
}  // namespace

std::uint64_t fnv1a(const std::string& text) {
  std::uint64_t h = fnv_offset;
  for (unsigned char c : text) {
    h ^= c;
    h *= fnv_prime;
  }
  return h;
}

std::string hex_digest(std::uint64_t value) {
  char buffer[17];
  std::snprintf(buffer, sizeof buffer, "%016llx", static_cast<unsigned long long>(value));
  return buffer;
}

std::string file_digest(const std::filesystem::path& file) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec)) return "missing";
  std::ifstream in(file, std::ios::binary);
  if (!in) return "unreadable";
  std::uint64_t h = fnv_offset, bytes = 0;
  std::vector<char> buffer(1 << 20);
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    const std::streamsize n = in.gcount();
    for (std::streamsize i = 0; i < n; ++i) {
      h ^= static_cast<unsigned char>(buffer[i]);
      h *= fnv_prime;
    }
    bytes += static_cast<std::uint64_t>(n);
  }
  return std::to_string(bytes) + " fnv1a:" + hex_digest(h);
}

}  // namespace assim
