#include "png.hpp"

#include <assim/error.hpp>
#include <assim/write_file.hpp>

#include <png.h>

#include <algorithm>
#include <cstring>
#include <string>

namespace assim::report {

void write_png(const std::filesystem::path& path, const Image& image) {
  // libpng's simplified API does its own setjmp/longjmp error handling, so
  // no C++ object lives across a longjmp here.
  png_image info;
  std::memset(&info, 0, sizeof info);
  info.version = PNG_IMAGE_VERSION;
  info.width = static_cast<png_uint_32>(image.width);
  info.height = static_cast<png_uint_32>(image.height);
  bool opaque = true;
  for (std::size_t i = 3; i < image.rgba.size(); i += 4) opaque = opaque && image.rgba[i] == 255;
  std::vector<std::uint8_t> rgb;
  const std::uint8_t* data = image.rgba.data();
  if (opaque) {
    // Plain RGB: a quarter smaller, and what a field without gaps is.
    rgb.reserve(image.rgba.size() / 4 * 3);
    for (std::size_t i = 0; i < image.rgba.size(); i += 4) rgb.insert(rgb.end(), &image.rgba[i], &image.rgba[i + 3]);
    data = rgb.data();
    info.format = PNG_FORMAT_RGB;
  } else {
    info.format = PNG_FORMAT_RGBA;
  }
  // Encoded in memory, then written as every file is (write_file).
  png_alloc_size_t size = 0;
  if (!png_image_write_get_memory_size(info, size, 0, data, 0, nullptr))
    throw Error("cannot encode " + path.string() + ": " + info.message);
  std::string bytes(size, '\0');
  if (!png_image_write_to_memory(&info, bytes.data(), &size, 0, data, 0, nullptr))
    throw Error("cannot encode " + path.string() + ": " + info.message);
  bytes.resize(size);
  write_file(path, bytes);
}

}  // namespace assim::report
