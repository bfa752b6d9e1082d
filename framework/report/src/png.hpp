// PNG files through libpng.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

namespace assim::report {

// An 8-bit RGBA image, rows from the top, 4 bytes per pixel.
struct Image {
  int width = 0, height = 0;
  std::vector<std::uint8_t> rgba;

  Image(int width, int height) : width(width), height(height), rgba(static_cast<std::size_t>(width) * height * 4, 0) {}
  std::uint8_t* pixel(int x, int y) { return &rgba[(static_cast<std::size_t>(y) * width + x) * 4]; }
};

// Writes `image` as a PNG (RGBA when any pixel is not opaque, else RGB);
// throws assim::Error naming the file and libpng's reason on failure.
void write_png(const std::filesystem::path& path, const Image& image);

}  // namespace assim::report
