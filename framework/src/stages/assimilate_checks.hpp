// What an assimilate stage checks before anything runs: that its sampler
// gets what it declares it needs (SamplerNeeds: a prior, a model, a
// climatology, a background, members), that a learned sampler or prior
// meets the design and the units it was trained on, and that the shapes
// agree; and what the sampler takes, in words, for the tables.
#pragma once

#include <assim/config.hpp>
#include <assim/framework/stage.hpp>
#include <assim/observation_operator.hpp>
#include <assim/sampler.hpp>

#include "products/products.hpp"

#include <cstdint>
#include <map>
#include <memory>
#include <string>

namespace assim::assimilate_checks {

// The whole check of an assimilate stage's settings against its inputs'.
void check(const Config& config, const std::map<std::string, Config>& inputs);

// The operator the observe stage used; one named here must be that very component.
void same_operator(const Config& config, const Config& observe);

// H as an assimilate stage (settings `config`) applies it to the windows of
// its observe stage `observe`, whose observations are `set`: that stage's
// component, the one checked above, applied to the state interpolated at
// the set's places where they lie between grid points. Evaluate applies the
// very same to the results.
std::shared_ptr<const ObservationOperator> operator_of(const Config& config, const StageInput& observe,
                                                       const products::ObservationSet& set);


// Why a filter cycled through the window needs the observe stage's background.
extern const char* const needs_background;

// What the sampler takes besides the observations, in words, for the tables.
std::string needs_text(const SamplerNeeds& needs, bool learned, bool learned_prior, std::int64_t frames);

}  // namespace assim::assimilate_checks
