// Everything a plugin author may use.
#pragma once

#include <assim/abi.hpp>
#include <assim/component.hpp>
#include <assim/config.hpp>
#include <assim/diffusion.hpp>
#include <assim/digest.hpp>
#include <assim/error.hpp>
#include <assim/fields.hpp>
#include <assim/interpolation.hpp>
#include <assim/log.hpp>
#include <assim/model.hpp>
#include <assim/observation_operator.hpp>
#include <assim/parameters.hpp>
#include <assim/prior.hpp>
#include <assim/progress.hpp>
#include <assim/registrar.hpp>
#include <assim/sampler.hpp>
#include <assim/score_sampling.hpp>
#include <assim/shape.hpp>
#include <assim/workers.hpp>
#include <assim/write_file.hpp>
