// Free forecasts from an analysis, scored against the truth's continuation:
// how analyses are judged in practice (a centre's forecast skill against
// lead time; Earth2Studio's DA evaluation, DiffDA's lead-time skill). The
// model steps the analysed states frame by frame of the truth; evaluate
// scores them with science/scores, as it scores the analyses.
#pragma once

#include <assim/model.hpp>

#include <ATen/ATen.h>

#include <cstdint>
#include <string>

namespace assim::forecast {

// A lead time counted in frames of the truth, and the model steps between
// two frames.
struct Lead {
  std::int64_t frames = 0;
  std::int64_t steps_per_frame = 0;
};

// `lead` (a duration, framework/duration.hpp: '3 days', '0.5', '40 steps')
// for a model of `model`'s time step, over a truth whose frames are
// `frame_time` apart in `time_units`. Throws Error (the caller adds the
// key) when the model's time is in other units than the truth's, its step
// does not divide the truth's frame interval, or the lead is not a whole
// number of frames.
Lead lead_of(const std::string& lead, const StateSpec& model, double frame_time, const std::string& time_units);

// The states at leads 0, 1, ..., lead.frames frames from `start` (members,
// state...), every member integrated by `model`: (members, lead.frames + 1,
// state...), float64. Throws DivergenceError where a member diverges.
at::Tensor free_forecast(const Model& model, const at::Tensor& start, const Lead& lead);

}  // namespace assim::forecast
