// What solving a problem costs, counted by the runner, never by a stage or a
// plugin: one decorator per interface, each forwarding every virtual of the
// interface it wraps (so that wrapping changes nothing but the count), and
// adding to an Evaluations: model steps (members x steps) and network
// evaluations (windows denoised).
#pragma once

#include <assim/model.hpp>
#include <assim/prior.hpp>
#include <assim/sampler.hpp>

#include <memory>

namespace assim::counted {

std::shared_ptr<const Model> model(std::shared_ptr<const Model> model, std::shared_ptr<Evaluations> count);
std::shared_ptr<const Prior> prior(std::shared_ptr<const Prior> prior, std::shared_ptr<Evaluations> count);

}  // namespace assim::counted
