// Text for the HTML page: escaping, tables, and the page around the sections.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace assim::report {

std::string escape(const std::string& text);       // for HTML text and attribute values
std::string escape_json(const std::string& text);  // for the inside of a JSON string

// A table with a header row, in a box that scrolls sideways when the table is
// wider than the page; cells are HTML (escape text first).
std::string table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows,
                  const std::string& css = "numbers");

// The page: a title, the sections' HTML, a stylesheet of its own, no scripts
// and nothing fetched from elsewhere.
void write_page(const std::filesystem::path& path, const std::string& title, const std::string& body);

}  // namespace assim::report
