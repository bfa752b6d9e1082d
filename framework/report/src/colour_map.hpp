// Colour maps for fields: a sequential map for quantities that are >= 0 (an
// ensemble spread) and a diverging map, centred on 0, for signed fields and
// errors. Both are tables of 256 sRGB colours computed once from the control
// points that define them.
#pragma once

#include <array>
#include <cstdint>
#include <string>

namespace assim::report {

struct Rgb {
  std::uint8_t r = 0, g = 0, b = 0;
  bool operator==(const Rgb& o) const { return r == o.r && g == o.g && b == o.b; }
  std::string hex() const;  // "#rrggbb"
};

class ColourMap {
 public:
  static constexpr int size = 256;
  // Viridis-like: dark blue to yellow with lightness rising steadily.
  static const ColourMap& sequential();
  // Moreland's cool-warm: blue through light grey to red, symmetric in lightness.
  static const ColourMap& diverging();

  const std::string& name() const { return name_; }
  // The table entry nearest to t in [0, 1] (clamped).
  Rgb at(double t) const;
  const std::array<Rgb, size>& table() const { return table_; }

 private:
  ColourMap(std::string name, std::array<Rgb, size> table) : name_(std::move(name)), table_(table) {}
  std::string name_;
  std::array<Rgb, size> table_;
};

// A colour scale: the values lo..hi spread over a map.
struct Scale {
  const ColourMap* map = nullptr;
  double lo = 0, hi = 1;
  double data_min = 0, data_max = 0;  // the finite values the scale was fitted to

  // Sequential from the smallest to the largest value, or, when `symmetric`,
  // diverging over [-m, m] with m the largest magnitude, so 0 is the centre.
  static Scale fit(double data_min, double data_max, bool symmetric);
  Rgb colour(double value) const { return map->at((value - lo) / (hi - lo)); }
};

}  // namespace assim::report
