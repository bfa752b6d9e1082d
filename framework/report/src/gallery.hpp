// The images of a report: fields drawn as colour-mapped PNGs and their
// colour bars, written into the page's folder and listed, with sizes and
// ranges, in a sidecar JSON that tests and other tools read.
#pragma once

#include "colour_map.hpp"

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace assim::report {

struct Image;

// A 2-D field in NetCDF order: row 0 is the smallest y.
struct Field {
  const double* values = nullptr;  // height * width
  int height = 0, width = 0;
  const int* mask = nullptr;       // optional, height * width; 0 marks a point without data
  // Whole enlargements across and up (0: the gallery's, the same both ways):
  // a time-by-space picture of a 1-D state, a few frames by many points, is
  // stretched up so that each frame is a band wide enough to read.
  int zoom_x = 0, zoom_y = 0;
};

// The smallest and largest finite, unmasked values of the fields (NaN, NaN when none).
std::pair<double, double> finite_range(const std::vector<Field>& fields);

class Gallery {
 public:
  // `pixels`: the field images' approximate size on the page; small grids
  // are enlarged by a whole factor (nearest neighbour, so cells stay sharp).
  Gallery(std::filesystem::path folder, int pixels);

  // A vertical colour bar for `scale` (hi at the top), as tall as the image
  // of `like`; returns its id, which the fields drawn with it name.
  int bar(const std::string& name, const Scale& scale, const std::string& label, const Field& like);
  // Writes the field as a PNG, y pointing up, points without data or with
  // non-finite values transparent; returns its <img> tag.
  std::string field(const std::string& name, const Field& field, int bar);
  // The <img> tag of a bar with its end (and, if diverging, centre) values beside it.
  std::string bar_html(int bar) const;
  // The scale a bar was drawn for, and its label.
  const Scale& scale(int bar) const { return bars_.at(static_cast<std::size_t>(bar)).scale; }
  const std::string& label(int bar) const { return bars_.at(static_cast<std::size_t>(bar)).label; }
  int pixels() const { return pixels_; }
  // Writes the index: every image, its size, and each bar's range and map.
  void write_index(const std::filesystem::path& path) const;

 private:
  struct Entry {
    std::string file;
    int width, height;
    int bar;  // fields: the bar of their scale; bars: -1
  };
  struct Bar {
    std::string file, label;
    Scale scale;
    int width, height;
  };
  int zoom(const Field& field) const;
  int zoom_x(const Field& field) const { return field.zoom_x ? field.zoom_x : zoom(field); }
  int zoom_y(const Field& field) const { return field.zoom_y ? field.zoom_y : zoom(field); }
  void write(const std::string& file, const Image& image, int bar);
  std::filesystem::path folder_;
  int pixels_;
  std::vector<Entry> entries_;
  std::vector<Bar> bars_;
};

// A number as text with `digits` significant digits ("1.25", "-3e-07"); "-"
// when it is absent (NaN) or infinite, which a reader should not see as a value.
std::string number(double v, int digits = 4);

}  // namespace assim::report
