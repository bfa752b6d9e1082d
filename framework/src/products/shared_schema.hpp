// The attributes several products share, declared once: how the truth was
// observed (observe, assimilate and filter describe it alike) and which
// sampler a result comes from.
#pragma once

#include "products/products.hpp"
#include "products/table.hpp"

#include <vector>

namespace assim::products {

// The observation noise: its law and its std.
std::vector<Attribute> noise_attributes(ObservationDesign& design);
// What observing windows adds to the noise: the operator, the frames
// observed, the mask, the normalisation and the background.
std::vector<Attribute> window_attributes(ObservationDesign& design);
// The seed the design's draws come from.
Attribute seed_attribute(ObservationDesign& design);

// The sampler's type and method, written with its settings (`sampler_*`).
std::vector<Attribute> sampler_attributes(SamplerName& sampler);

// `to` followed by `more`: a table's attributes gathered from the parts above.
void append(std::vector<Attribute>& to, const std::vector<Attribute>& more);

}  // namespace assim::products
