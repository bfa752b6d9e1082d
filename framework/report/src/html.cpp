#include "html.hpp"

#include <assim/write_file.hpp>

#include <cstdio>

namespace assim::report {

namespace {

// A table wider than the page (many frames, many scores) scrolls within its
// own box (div.scroll), so the page itself never scrolls sideways.
// Unobserved points are transparent in the images; a light checkerboard
// behind them tells "no data" apart from any colour of the maps.
constexpr const char* style = R"(
body { font: 14px/1.45 system-ui, sans-serif; color: #222; margin: 24px 32px; max-width: 1500px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 32px 0 8px; border-bottom: 1px solid #ccc; padding-bottom: 4px; }
h3 { font-size: 15px; margin: 20px 0 6px; }
p.note { color: #555; margin: 4px 0 10px; }
table.numbers { border-collapse: collapse; font-variant-numeric: tabular-nums; margin: 6px 0 14px; }
table.numbers th, table.numbers td { border-bottom: 1px solid #e3e3e3; padding: 2px 10px; text-align: right; }
table.numbers th:first-child, table.numbers td:first-child { text-align: left; }
table.numbers th { background: #f4f4f4; }
table.fields { border-collapse: collapse; }
table.fields td, table.fields th { padding: 2px 3px; vertical-align: middle; }
table.fields th { font-weight: normal; color: #555; font-size: 12px; }
table.fields th.row { text-align: right; padding-right: 8px; white-space: nowrap; }
img.field { display: block; image-rendering: pixelated;
  background: repeating-conic-gradient(#e4e4e4 0 25%, #fafafa 0 50%) 0 0 / 8px 8px; }
div.bar { display: flex; align-items: stretch; gap: 4px; }
img.bar { display: block; border: 1px solid #999; }
div.ticks { display: flex; flex-direction: column; justify-content: space-between; font-size: 11px; color: #333; }
td.empty { color: #999; font-size: 11px; text-align: center; }
div.plots { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; }
svg { font: 11px system-ui, sans-serif; }
details { margin: 6px 0 12px; }
summary { cursor: pointer; color: #245; }
div.scroll { max-width: 100%; overflow-x: auto; }
pre { background: #f6f6f6; padding: 8px 10px; overflow-x: auto; font-size: 12px; }
)";

}  // namespace

std::string escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string escape_json(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char code[8];
      std::snprintf(code, sizeof code, "\\u%04x", static_cast<unsigned>(c));
      out += code;
    } else {
      out += c;
    }
  }
  return out;
}

std::string table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows,
                  const std::string& css) {
  std::string html = "<div class=\"scroll\"><table class=\"" + css + "\"><tr>";
  for (const auto& h : header) html += "<th>" + h + "</th>";
  html += "</tr>\n";
  for (const auto& row : rows) {
    html += "<tr>";
    for (const auto& cell : row) html += "<td>" + cell + "</td>";
    html += "</tr>\n";
  }
  return html + "</table></div>\n";
}

void write_page(const std::filesystem::path& path, const std::string& title, const std::string& body) {
  write_file(path, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>" + escape(title) +
                       "</title>\n<style>" + style + "</style>\n</head>\n<body>\n" + body + "</body>\n</html>\n");
}

}  // namespace assim::report
