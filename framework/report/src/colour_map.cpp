// Both maps are made perceptually even by interpolating between their
// control points in a perceptual colour space (CIELAB, or Moreland's Msh,
// its polar form) rather than in sRGB, where equal steps look unequal.
//
// Sequential: the control points are viridis sampled at 9 even steps (the
// values R's viridisLite and matplotlib give); viridis itself is designed in
// CAM02-UCS by van der Walt and Smith, "A better default colormap for
// Matplotlib", SciPy 2015. Between its samples CIELAB is close enough.
//
// Diverging: K. Moreland, "Diverging Color Maps for Scientific
// Visualization", ISVC 2009: the end colours (59, 76, 192) and (180, 4, 38)
// are joined through an unsaturated white point in Msh, with the hue spun
// near the centre so the path stays smooth.
#include "colour_map.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace assim::report {

namespace {

struct Lab {
  double l, a, b;
};

constexpr double pi = 3.14159265358979323846;

// CIE reference white D65.
constexpr double white_x = 0.95047, white_y = 1.0, white_z = 1.08883;

double to_linear(std::uint8_t c) {
  double v = c / 255.0;
  return v <= 0.04045 ? v / 12.92 : std::pow((v + 0.055) / 1.055, 2.4);
}

std::uint8_t from_linear(double v) {
  double c = v <= 0.0031308 ? 12.92 * v : 1.055 * std::pow(v, 1 / 2.4) - 0.055;
  return static_cast<std::uint8_t>(std::lround(std::clamp(c, 0.0, 1.0) * 255));
}

double lab_f(double t) { return t > 216.0 / 24389 ? std::cbrt(t) : (24389.0 / 27 * t + 16) / 116; }
double lab_f_inverse(double t) { return t > 6.0 / 29 ? t * t * t : (116 * t - 16) * 27 / 24389; }

Lab to_lab(Rgb c) {
  double r = to_linear(c.r), g = to_linear(c.g), b = to_linear(c.b);
  double x = 0.4124564 * r + 0.3575761 * g + 0.1804375 * b;
  double y = 0.2126729 * r + 0.7151522 * g + 0.0721750 * b;
  double z = 0.0193339 * r + 0.1191920 * g + 0.9503041 * b;
  double fx = lab_f(x / white_x), fy = lab_f(y / white_y), fz = lab_f(z / white_z);
  return {116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)};
}

Rgb to_rgb(Lab c) {
  double fy = (c.l + 16) / 116, fx = fy + c.a / 500, fz = fy - c.b / 200;
  double x = white_x * lab_f_inverse(fx), y = white_y * lab_f_inverse(fy), z = white_z * lab_f_inverse(fz);
  return {from_linear(3.2404542 * x - 1.5371385 * y - 0.4985314 * z),
          from_linear(-0.9692660 * x + 1.8760108 * y + 0.0415560 * z),
          from_linear(0.0556434 * x - 0.2040259 * y + 1.0572252 * z)};
}

Rgb from_hex(unsigned v) {
  return {static_cast<std::uint8_t>(v >> 16), static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v)};
}

std::array<Rgb, ColourMap::size> make_sequential() {
  static constexpr unsigned points[] = {0x440154, 0x472D7B, 0x3B528B, 0x2C728E, 0x21908C,
                                        0x27AD81, 0x5DC863, 0xAADC32, 0xFDE725};
  constexpr int segments = static_cast<int>(std::size(points)) - 1;
  std::array<Rgb, ColourMap::size> table;
  for (int i = 0; i < ColourMap::size; ++i) {
    double t = static_cast<double>(i) / (ColourMap::size - 1) * segments;
    int k = std::min(static_cast<int>(t), segments - 1);
    double u = t - k;
    Lab a = to_lab(from_hex(points[k])), b = to_lab(from_hex(points[k + 1]));
    table[i] = to_rgb({a.l + u * (b.l - a.l), a.a + u * (b.a - a.a), a.b + u * (b.b - a.b)});
  }
  return table;
}

// Msh: magnitude, saturation (angle from the grey axis), hue (angle in a-b).
struct Msh {
  double m, s, h;
};

Msh to_msh(Lab c) {
  double m = std::sqrt(c.l * c.l + c.a * c.a + c.b * c.b);
  return {m, std::acos(c.l / m), std::atan2(c.b, c.a)};
}

Lab to_lab(Msh c) { return {c.m * std::cos(c.s), c.m * std::sin(c.s) * std::cos(c.h), c.m * std::sin(c.s) * std::sin(c.h)}; }

// Moreland's hue for an unsaturated end: spun so the path reaches it smoothly.
double adjust_hue(Msh saturated, double m_unsaturated) {
  if (saturated.m >= m_unsaturated) return saturated.h;
  double spin = saturated.s * std::sqrt(m_unsaturated * m_unsaturated - saturated.m * saturated.m) /
                (saturated.m * std::sin(saturated.s));
  return saturated.h > -pi / 3 ? saturated.h + spin : saturated.h - spin;
}

Rgb moreland(Rgb cool, Rgb warm, double t) {
  Msh a = to_msh(to_lab(cool)), b = to_msh(to_lab(warm));
  // Distinct saturated ends meet at white, each half interpolated on its own.
  if (a.s > 0.05 && b.s > 0.05 && std::abs(a.h - b.h) > pi / 3) {
    double m_mid = std::max({a.m, b.m, 88.0});
    if (t < 0.5) {
      b = {m_mid, 0, 0};
      t = 2 * t;
    } else {
      a = {m_mid, 0, 0};
      t = 2 * t - 1;
    }
  }
  if (a.s < 0.05 && b.s > 0.05)
    a.h = adjust_hue(b, a.m);
  else if (b.s < 0.05 && a.s > 0.05)
    b.h = adjust_hue(a, b.m);
  return to_rgb(to_lab(Msh{a.m + t * (b.m - a.m), a.s + t * (b.s - a.s), a.h + t * (b.h - a.h)}));
}

std::array<Rgb, ColourMap::size> make_diverging() {
  std::array<Rgb, ColourMap::size> table;
  for (int i = 0; i < ColourMap::size; ++i)
    table[i] = moreland({59, 76, 192}, {180, 4, 38}, static_cast<double>(i) / (ColourMap::size - 1));
  return table;
}

}  // namespace

std::string Rgb::hex() const {
  char text[8];
  std::snprintf(text, sizeof text, "#%02x%02x%02x", r, g, b);
  return text;
}

const ColourMap& ColourMap::sequential() {
  static const ColourMap map("viridis-like", make_sequential());
  return map;
}

const ColourMap& ColourMap::diverging() {
  static const ColourMap map("cool-warm", make_diverging());
  return map;
}

Rgb ColourMap::at(double t) const {
  if (!(t > 0)) return table_.front();  // also NaN: callers mask non-finite values themselves
  return table_[std::min(size - 1, static_cast<int>(std::lround(t * (size - 1))))];
}

Scale Scale::fit(double data_min, double data_max, bool symmetric) {
  Scale s;
  s.data_min = data_min;
  s.data_max = data_max;
  if (symmetric) {
    double m = std::max(std::abs(data_min), std::abs(data_max));
    if (!(m > 0)) m = 1;  // an all-zero field: any range shows it as the centre colour
    s.map = &ColourMap::diverging();
    s.lo = -m;
    s.hi = m;
  } else {
    s.map = &ColourMap::sequential();
    s.lo = data_min;
    s.hi = data_max > data_min ? data_max : data_min + std::max(1.0, std::abs(data_min));
  }
  return s;
}

}  // namespace assim::report
