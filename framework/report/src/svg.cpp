#include "svg.hpp"

#include "gallery.hpp"
#include "html.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

namespace assim::report {

namespace {

std::string f(double v) { return number(v, 6); }

std::string text(double x, double y, const std::string& s, const char* anchor = "middle", const char* extra = "") {
  return "<text x=\"" + f(x) + "\" y=\"" + f(y) + "\" text-anchor=\"" + anchor + "\"" + extra + ">" + escape(s) +
         "</text>";
}

// About `count` round tick values (steps of 1, 2 or 5 times a power of ten) covering lo..hi.
// With `whole`, steps are whole numbers (frames, cycles).
std::vector<double> ticks(double lo, double hi, int count, bool whole = false) {
  double raw = (hi - lo) / count;
  double power = std::pow(10.0, std::floor(std::log10(raw)));
  double step = power * (raw / power < 1.5 ? 1 : raw / power < 3.5 ? 2 : raw / power < 7.5 ? 5 : 10);
  if (whole) step = std::max(step, 1.0);
  std::vector<double> out;
  for (double t = std::ceil(lo / step - 1e-9) * step; t <= hi + step * 1e-9; t += step)
    out.push_back(std::abs(t) < step * 1e-9 ? 0.0 : t);
  return out;
}

}  // namespace

std::string series_colour(std::size_t i) {
  static const char* palette[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"};
  return palette[i % std::size(palette)];
}

std::string line_plot(const std::vector<Series>& series, const Axes& axes) {
  // The plot keeps its size; the legend beside it is as wide as its longest
  // name and as tall as its entries (18 px each), the widths estimated at
  // 6.2 px per character of the page's 11 px text (as heatmap does), so that
  // no name is clipped however long (a swept run's name and its method).
  constexpr double plot_w = 386, plot_h = 228, left = 64, top = 28, bottom = 44, char_w = 6.2, entry_h = 18;
  std::size_t longest = 0;
  for (const auto& s : series) longest = std::max(longest, s.name.size());
  const double right = std::max(250.0, 42 + char_w * static_cast<double>(longest) + 8);
  const double width = left + plot_w + right;
  const double height = std::max(top + plot_h + bottom, top + 8 + entry_h * static_cast<double>(series.size()));
  double x_lo = std::numeric_limits<double>::infinity(), x_hi = -x_lo, y_lo = x_lo, y_hi = -x_lo;
  bool whole = true;
  for (const auto& s : series)
    for (std::size_t i = 0; i < s.x.size(); ++i) {
      whole = whole && s.x[i] == std::round(s.x[i]);
      x_lo = std::min(x_lo, s.x[i]);
      x_hi = std::max(x_hi, s.x[i]);
      if (std::isfinite(s.y[i])) {
        const double e = i < s.error.size() && std::isfinite(s.error[i]) ? s.error[i] : 0;
        y_lo = std::min(y_lo, s.y[i] - e);
        y_hi = std::max(y_hi, s.y[i] + e);
      }
    }
  if (!(x_hi > x_lo)) x_hi = x_lo + 1;
  if (!(y_lo <= y_hi)) y_lo = 0, y_hi = 1;
  if (y_lo >= 0) y_lo = 0;
  if (!(y_hi > y_lo)) y_hi = y_lo + 1;
  y_hi += 0.05 * (y_hi - y_lo);
  auto px = [&](double x) { return left + (x - x_lo) / (x_hi - x_lo) * plot_w; };
  auto py = [&](double y) { return top + (1 - (y - y_lo) / (y_hi - y_lo)) * plot_h; };

  std::string svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + f(width) + "\" height=\"" + f(height) +
                    "\" viewBox=\"0 0 " + f(width) + " " + f(height) + "\">";
  svg += text(left + plot_w / 2, 16, axes.title, "middle", " font-weight=\"bold\" font-size=\"13\"");
  for (double t : ticks(y_lo, y_hi, 5)) {
    svg += "<line x1=\"" + f(left) + "\" x2=\"" + f(left + plot_w) + "\" y1=\"" + f(py(t)) + "\" y2=\"" + f(py(t)) +
           "\" stroke=\"#e5e5e5\"/>";
    svg += text(left - 6, py(t) + 4, number(t, 3), "end");
  }
  for (double t : ticks(x_lo, x_hi, 6, whole)) {
    svg += "<line x1=\"" + f(px(t)) + "\" x2=\"" + f(px(t)) + "\" y1=\"" + f(top + plot_h) + "\" y2=\"" +
           f(top + plot_h + 4) + "\" stroke=\"#444\"/>";
    svg += text(px(t), top + plot_h + 16, number(t, 4));
  }
  svg += "<rect x=\"" + f(left) + "\" y=\"" + f(top) + "\" width=\"" + f(plot_w) + "\" height=\"" + f(plot_h) +
         "\" fill=\"none\" stroke=\"#444\"/>";
  svg += text(left + plot_w / 2, top + plot_h + bottom - 6, axes.x_label);
  svg += text(14, top + plot_h / 2, axes.y_label, "middle",
              (" transform=\"rotate(-90 14 " + f(top + plot_h / 2) + ")\"").c_str());
  for (std::size_t k = 0; k < series.size(); ++k) {
    const Series& s = series[k];
    const std::string stroke = "\" fill=\"none\" stroke=\"" + s.colour + "\" stroke-width=\"2\"" +
                               (s.dashed ? " stroke-dasharray=\"6 4\"" : "") + "/>";
    std::string points;
    auto flush = [&] {
      if (!points.empty() && !s.points) svg += "<polyline points=\"" + points + stroke;
      points.clear();
    };
    for (std::size_t i = 0; i < s.x.size(); ++i) {
      if (!std::isfinite(s.y[i])) {
        flush();
        continue;
      }
      points += f(px(s.x[i])) + "," + f(py(s.y[i])) + " ";
      if (i < s.error.size() && std::isfinite(s.error[i]))
        for (const auto& [x1, x2, y1, y2] :
             {std::array<double, 4>{px(s.x[i]), px(s.x[i]), py(s.y[i] - s.error[i]), py(s.y[i] + s.error[i])},
              std::array<double, 4>{px(s.x[i]) - 4, px(s.x[i]) + 4, py(s.y[i] - s.error[i]), py(s.y[i] - s.error[i])},
              std::array<double, 4>{px(s.x[i]) - 4, px(s.x[i]) + 4, py(s.y[i] + s.error[i]), py(s.y[i] + s.error[i])}})
          svg += "<line class=\"error\" x1=\"" + f(x1) + "\" x2=\"" + f(x2) + "\" y1=\"" + f(y1) + "\" y2=\"" + f(y2) +
                 "\" stroke=\"" + s.colour + "\"/>";
      // Markers where points are few enough to tell apart.
      if (s.points || s.x.size() <= 40)
        svg += "<circle cx=\"" + f(px(s.x[i])) + "\" cy=\"" + f(py(s.y[i])) + "\" r=\"" + (s.points ? "3.5" : "2.5") +
               "\" fill=\"" + s.colour + "\"/>";
    }
    flush();
    double ly = top + 8 + entry_h * static_cast<double>(k);
    if (s.points)
      svg += "<circle cx=\"" + f(width - right + 24) + "\" cy=\"" + f(ly) + "\" r=\"3.5\" fill=\"" + s.colour + "\"/>";
    else
      svg += "<line x1=\"" + f(width - right + 12) + "\" x2=\"" + f(width - right + 36) + "\" y1=\"" + f(ly) +
             "\" y2=\"" + f(ly) + stroke;
    svg += text(width - right + 42, ly + 4, s.name, "start");
  }
  return svg + "</svg>";
}

std::string heatmap(const Heatmap& map, const Scale& scale) {
  // Text widths are estimated (6.2 px per character at the page's 11 px,
  // 7.5 at the 13 px bold title), so that labels of any length fit: the
  // row labels set the left margin, the title and the rotated axis label
  // set the least width and height.
  constexpr double cell_w = 64, top = 28, bottom = 46, bar_gap = 16, bar_w = 12, char_w = 6.2, title_char_w = 7.5;
  std::size_t longest_row = 0;
  for (const auto& r : map.rows) longest_row = std::max(longest_row, r.size());
  const double left = 30 + char_w * static_cast<double>(longest_row);
  const double cols = static_cast<double>(map.columns.size()), rows = static_cast<double>(map.rows.size());
  const double cell_h = std::max(36.0, (char_w * static_cast<double>(map.y_label.size()) + 8) / std::max(rows, 1.0));
  const double width = std::max({left + cols * cell_w + bar_gap + bar_w + 56, 260.0,
                                 title_char_w * static_cast<double>(map.title.size()) + 16});
  const double height = top + rows * cell_h + bottom;
  std::string svg = "<svg class=\"heatmap\" xmlns=\"http://www.w3.org/2000/svg\" width=\"" + f(width) +
                    "\" height=\"" + f(height) + "\" viewBox=\"0 0 " + f(width) + " " + f(height) + "\">";
  svg += text(width / 2, 16, map.title, "middle", " font-weight=\"bold\" font-size=\"13\"");
  for (std::size_t r = 0; r < map.rows.size(); ++r) {
    double y = top + (rows - 1 - static_cast<double>(r)) * cell_h;
    svg += text(left - 6, y + cell_h / 2 + 4, map.rows[r], "end");
    for (std::size_t c = 0; c < map.columns.size(); ++c) {
      double x = left + static_cast<double>(c) * cell_w, v = map.values[r * map.columns.size() + c];
      if (!std::isfinite(v)) {
        svg += "<rect x=\"" + f(x) + "\" y=\"" + f(y) + "\" width=\"" + f(cell_w) + "\" height=\"" + f(cell_h) +
               "\" fill=\"#fff\" stroke=\"#ddd\"/>";
        continue;
      }
      Rgb colour = scale.colour(v);
      // Dark text on light cells and light text on dark ones (relative luminance).
      double luminance = 0.2126 * colour.r + 0.7152 * colour.g + 0.0722 * colour.b;
      svg += "<rect x=\"" + f(x) + "\" y=\"" + f(y) + "\" width=\"" + f(cell_w) + "\" height=\"" + f(cell_h) +
             "\" fill=\"" + colour.hex() + "\"/>";
      svg += text(x + cell_w / 2, y + cell_h / 2 + 4, number(v, 3), "middle",
                  luminance > 140 ? " fill=\"#111\"" : " fill=\"#fff\"");
    }
  }
  for (std::size_t c = 0; c < map.columns.size(); ++c)
    svg += text(left + (static_cast<double>(c) + 0.5) * cell_w, top + rows * cell_h + 15, map.columns[c]);
  svg += text(std::max(left + cols * cell_w / 2, char_w * static_cast<double>(map.x_label.size()) / 2 + 4), height - 8,
              map.x_label);
  svg += text(14, top + rows * cell_h / 2, map.y_label, "middle",
              (" transform=\"rotate(-90 14 " + f(top + rows * cell_h / 2) + ")\"").c_str());
  // The colour bar: a gradient through 17 samples of the map, hi at the top.
  const std::string id = "gradient-" + map.id;
  svg += "<defs><linearGradient id=\"" + id + "\" x1=\"0\" y1=\"1\" x2=\"0\" y2=\"0\">";
  for (int i = 0; i <= 16; ++i)
    svg += "<stop offset=\"" + f(i / 16.0) + "\" stop-color=\"" + scale.map->at(i / 16.0).hex() + "\"/>";
  svg += "</linearGradient></defs>";
  const double bx = left + cols * cell_w + bar_gap;
  svg += "<rect x=\"" + f(bx) + "\" y=\"" + f(top) + "\" width=\"" + f(bar_w) + "\" height=\"" + f(rows * cell_h) +
         "\" fill=\"url(#" + id + ")\" stroke=\"#999\"/>";
  svg += text(bx + bar_w + 4, top + 9, number(scale.hi, 3), "start");
  svg += text(bx + bar_w + 4, top + rows * cell_h, number(scale.lo, 3), "start");
  return svg + "</svg>";
}

}  // namespace assim::report
