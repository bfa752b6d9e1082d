#include "products/shared_schema.hpp"

namespace assim::products {

using Kind = Attribute::Kind;

// Files written before a noise law was chosen have none: their noise was
// Gaussian. The drawn std is written only where it differs from the assumed.
std::vector<Attribute> noise_attributes(ObservationDesign& design) {
  return {{"observation_sigma", &design.sigma},
          {"observation_sigma_drawn", &design.sigma_drawn, Kind::optional},
          {"noise_law", &design.noise_law, Kind::optional}};
}

std::vector<Attribute> window_attributes(ObservationDesign& design) {
  return {{"operator_type", &design.operator_type, Kind::optional},
          {"every", &design.every},
          {"normalised", &design.normalised, Kind::optional},
          {"mask_fraction", &design.mask_fraction},
          {"mask_design", &design.mask_design, Kind::optional},
          {"background_sigma", &design.background_sigma, Kind::optional}};
}

Attribute seed_attribute(ObservationDesign& design) { return {"seed", &design.seed}; }

std::vector<Attribute> sampler_attributes(SamplerName& sampler) {
  return {{"sampler_type", &sampler.type, Kind::setting}, {"sampler_method", &sampler.method, Kind::setting}};
}

void append(std::vector<Attribute>& to, const std::vector<Attribute>& more) {
  to.insert(to.end(), more.begin(), more.end());
}

}  // namespace assim::products
