// Plots as inline SVG: lines over a shared x axis, and heatmaps of a value
// over two settings. Plain SVG elements only, so any browser draws them and
// the numbers stay readable in the page's source.
#pragma once

#include "colour_map.hpp"

#include <string>
#include <vector>

namespace assim::report {

struct Series {
  std::string name;
  std::vector<double> x, y;  // NaN y values break the line
  std::string colour;
  bool dashed = false;
  bool points = false;  // markers alone, no line: values at scattered places (observations)
  std::vector<double> error;  // empty, or y +- error drawn as a bar at each point (NaN: none)
};

struct Axes {
  std::string title, x_label, y_label;
};

// Lines with axes, ticks and a legend; y starts at 0 when every value is >= 0.
std::string line_plot(const std::vector<Series>& series, const Axes& axes);

// Categorical line colours (Okabe and Ito, "Color Universal Design", 2008:
// told apart with every common colour-vision deficiency), cycling.
std::string series_colour(std::size_t i);

struct Heatmap {
  std::string id;  // unique in the page: names the colour bar's gradient
  std::string title, x_label, y_label;
  std::vector<std::string> columns, rows;  // tick labels along x, and along y from the bottom
  std::vector<double> values;              // rows x columns, row-major; NaN: no run with these settings
};

// Cells coloured by `scale` with their value written in, and a colour bar; an
// <svg class="heatmap">.
std::string heatmap(const Heatmap& map, const Scale& scale);

}  // namespace assim::report
