#include <assim/shape.hpp>

#include <sstream>

namespace assim {

std::string shape_text(c10::IntArrayRef shape) {
  std::string out = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + ")";
}

std::string number_text(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

std::vector<std::int64_t> with_channel_axis(const std::vector<std::int64_t>& frame) {
  if (frame.size() >= 3) return frame;
  std::vector<std::int64_t> out{1};
  out.insert(out.end(), frame.begin(), frame.end());
  return out;
}

}  // namespace assim
