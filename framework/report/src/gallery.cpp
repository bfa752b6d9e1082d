#include "gallery.hpp"

#include "html.hpp"
#include "png.hpp"

#include <assim/write_file.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace assim::report {

namespace {

constexpr int bar_width = 16;

bool has_data(const Field& f, std::size_t i) { return std::isfinite(f.values[i]) && (!f.mask || f.mask[i]); }

std::string img(const std::string& file, int width, int height, const std::string& alt, const char* css) {
  return "<img class=\"" + std::string(css) + "\" src=\"" + escape(file) + "\" width=\"" + std::to_string(width) +
         "\" height=\"" + std::to_string(height) + "\" alt=\"" + escape(alt) + "\">";
}

}  // namespace

std::string number(double v, int digits) {
  if (!std::isfinite(v)) return "-";
  char text[40];
  std::snprintf(text, sizeof text, "%.*g", digits, v);
  return text;
}

std::pair<double, double> finite_range(const std::vector<Field>& fields) {
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (const auto& f : fields)
    for (std::size_t i = 0; i < static_cast<std::size_t>(f.height) * f.width; ++i)
      if (has_data(f, i)) {
        lo = std::min(lo, f.values[i]);
        hi = std::max(hi, f.values[i]);
      }
  if (lo > hi) return {NAN, NAN};
  return {lo, hi};
}

Gallery::Gallery(std::filesystem::path folder, int pixels) : folder_(std::move(folder)), pixels_(pixels) {
  std::filesystem::create_directories(folder_);
}

int Gallery::zoom(const Field& field) const {
  return std::max(1, static_cast<int>(std::lround(static_cast<double>(pixels_) / std::max(field.height, field.width))));
}

void Gallery::write(const std::string& file, const Image& image, int bar) {
  write_png(folder_ / file, image);
  entries_.push_back({file, image.width, image.height, bar});
}

int Gallery::bar(const std::string& name, const Scale& scale, const std::string& label, const Field& like) {
  Image image(bar_width, like.height * zoom_y(like));
  // Row 0 is hi and the last row lo, so the ends are exactly the map's colours at the range's ends.
  for (int y = 0; y < image.height; ++y) {
    Rgb c = scale.map->at(image.height > 1 ? 1.0 - static_cast<double>(y) / (image.height - 1) : 1.0);
    for (int x = 0; x < image.width; ++x) {
      std::uint8_t* p = image.pixel(x, y);
      p[0] = c.r, p[1] = c.g, p[2] = c.b, p[3] = 255;
    }
  }
  std::string file = name + ".png";
  write(file, image, -1);
  bars_.push_back({file, label, scale, image.width, image.height});
  return static_cast<int>(bars_.size()) - 1;
}

std::string Gallery::field(const std::string& name, const Field& field, int bar) {
  const Scale& scale = bars_.at(static_cast<std::size_t>(bar)).scale;
  const int kx = zoom_x(field), ky = zoom_y(field);
  Image image(field.width * kx, field.height * ky);
  for (int row = 0; row < field.height; ++row)
    for (int col = 0; col < field.width; ++col) {
      std::size_t i = static_cast<std::size_t>(row) * field.width + col;
      bool valid = has_data(field, i);
      Rgb c = valid ? scale.colour(field.values[i]) : Rgb{};
      // NetCDF row 0 is the southern edge: it goes at the bottom of the image.
      for (int dy = 0; dy < ky; ++dy)
        for (int dx = 0; dx < kx; ++dx) {
          std::uint8_t* p = image.pixel(col * kx + dx, (field.height - 1 - row) * ky + dy);
          p[0] = c.r, p[1] = c.g, p[2] = c.b, p[3] = valid ? 255 : 0;
        }
    }
  std::string file = name + ".png";
  write(file, image, bar);
  return img(file, image.width, image.height, name, "field");
}

std::string Gallery::bar_html(int bar) const {
  const Bar& b = bars_.at(static_cast<std::size_t>(bar));
  std::string ticks = "<span class=\"hi\">" + number(b.scale.hi, 3) + "</span>";
  if (b.scale.map == &ColourMap::diverging()) ticks += "<span class=\"mid\">0</span>";
  ticks += "<span class=\"lo\">" + number(b.scale.lo, 3) + "</span>";
  return "<div class=\"bar\">" + img(b.file, b.width, b.height, b.label, "bar") + "<div class=\"ticks\" style=\"height:" +
         std::to_string(b.height) + "px\">" + ticks + "</div></div>";
}

void Gallery::write_index(const std::filesystem::path& path) const {
  auto text = [](const std::string& s) { return "\"" + escape_json(s) + "\""; };
  // JSON has no NaN: an absent range (a field without finite values) is null.
  auto value = [](double v) { return std::isfinite(v) ? number(v, 17) : std::string("null"); };
  std::string json = "{\n  \"images\": [";
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    const Entry& e = entries_[i];
    json += std::string(i ? "," : "") + "\n    {\"src\": " + text(e.file) + ", \"width\": " + std::to_string(e.width) +
            ", \"height\": " + std::to_string(e.height) +
            (e.bar >= 0 ? ", \"bar\": " + text(bars_[static_cast<std::size_t>(e.bar)].file) : std::string()) + "}";
  }
  json += "\n  ],\n  \"bars\": [";
  for (std::size_t i = 0; i < bars_.size(); ++i) {
    const Bar& b = bars_[i];
    const Scale& s = b.scale;
    json += std::string(i ? "," : "") + "\n    {\"src\": " + text(b.file) + ", \"label\": " + text(b.label) +
            ", \"map\": " + text(s.map->name()) + ", \"lo\": " + value(s.lo) + ", \"hi\": " + value(s.hi) +
            ", \"data_min\": " + value(s.data_min) + ", \"data_max\": " + value(s.data_max) +
            ", \"lo_colour\": " + text(s.map->at(0).hex()) + ", \"hi_colour\": " + text(s.map->at(1).hex()) + "}";
  }
  json += "\n  ]\n}\n";
  write_file(path, json);
}

}  // namespace assim::report
