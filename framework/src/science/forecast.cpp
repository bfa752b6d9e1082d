#include "forecast.hpp"

#include <assim/error.hpp>
#include <assim/framework/duration.hpp>

#include <cmath>
#include <sstream>
#include <vector>

namespace assim::forecast {

namespace {
// A time as a message writes it: "86400 s", or "0.1" in a model's own units.
std::string time_text(double value, const std::string& units) {
  std::ostringstream text;
  text << value << (units == "1" ? "" : " " + units);
  return text.str();
}
}  // namespace

Lead lead_of(const std::string& lead, const StateSpec& model, double frame_time, const std::string& time_units) {
  if (model.time_units != time_units)
    throw Error("the model's time is in '" + model.time_units + "', the truth's in '" + time_units + "'");
  const double per_frame = frame_time / model.time_step;
  Lead out;
  out.steps_per_frame = static_cast<std::int64_t>(std::llround(per_frame));
  if (out.steps_per_frame < 1 || std::abs(per_frame - static_cast<double>(out.steps_per_frame)) > 1e-9 * per_frame) {
    std::ostringstream why;
    why << "the truth's frames are " << time_text(frame_time, time_units) << " apart, not a whole number of the "
        << "model's steps of " << time_text(model.time_step, time_units);
    throw Error(why.str());
  }
  const std::int64_t steps = steps_in(lead, model.time_step, model.time_units);
  if (steps % out.steps_per_frame != 0) {
    std::ostringstream why;
    why << "'" << lead << "' is " << steps << " model steps, not a whole number of the truth's frames ("
        << out.steps_per_frame << " steps, " << time_text(frame_time, time_units) << ", each)";
    throw Error(why.str());
  }
  out.frames = steps / out.steps_per_frame;
  return out;
}

at::Tensor free_forecast(const Model& model, const at::Tensor& start, const Lead& lead) {
  auto trajectory = model.start(start.to(at::kDouble).contiguous());
  std::vector<at::Tensor> states = {trajectory->state()};
  for (std::int64_t f = 0; f < lead.frames; ++f) {
    trajectory->advance(lead.steps_per_frame);
    states.push_back(trajectory->state());
  }
  return at::stack(states, 1);
}

}  // namespace assim::forecast
