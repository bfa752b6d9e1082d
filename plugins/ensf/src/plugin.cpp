// The EnSF plugin: one sampler type, sampler.ensf.
#include "ensf.hpp"

#include <assim/registrar.hpp>

ASSIM_PLUGIN("ensf", "0.1.0") {
  registrar.add<assim::ensf::ScoreFilter>(
      "sampler.ensf",
      "ensemble score filter (Bao, Zhang & Zhang 2024): each analysis member drawn by a reverse-time SDE from noise, "
      "driven by the forecast ensemble's Monte-Carlo score plus the damped likelihood score through H (autograd); "
      "no training");
}
