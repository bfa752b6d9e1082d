#include "operators.hpp"

using namespace assim::observations;

ASSIM_PLUGIN("observations", "0.1.0") {
  registrar.add<Identity>("obs.identity", "y = x");
  registrar.add<Arctan>("obs.arctan", "y = arctan(scale x), element-wise (the papers' 'easy' operator)");
  registrar.add<Sine>("obs.sin", "y = amplitude sin(frequency x), element-wise (the papers' 'hard' operator)");
  registrar.add<Velocity>("obs.velocity", "PV -> [u1, u2, v1, v2] / scales through the model's QG inversion");
  registrar.add<Interpolate>("obs.interpolate", "the state between grid points, linear (1-D) or bilinear (2-D), "
                             "periodic, then an optional element-wise operator");
  registrar.add<Stack>("obs.stack", "several operators at once, outputs concatenated along the channel dim");
}
