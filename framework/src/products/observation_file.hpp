// An observation file: observations at places and times, one row per
// location, in IODA's groups (JEDI's observation format), so that data made
// elsewhere can be assimilated and the observe stage's own can be written out:
//
//   dimensions  Location (one per place and time), Channel (when H has channels)
//   MetaData/window   int    (Location)   the assimilation window, from 0
//   MetaData/time     double (Location)   since the window's start, in the model's time units
//   MetaData/<dim>    double (Location)   the coordinate along each grid dim of the state
//                                         (site; y, x), in that dim's units, cell centres at
//                                         (i + 0.5) x spacing, the domain [0, size x spacing)
//   ObsValue/<var>    double (Location[, Channel])  the observed value, in H's units
//   ObsError/<var>    double (Location[, Channel])  its error standard deviation (> 0)
//   PreQC/<var>       int    (Location[, Channel])  optional; non-zero: flagged, skipped
//   Background/<state variable> double (window, state dims...)  optional, assim's own:
//                                         the background of each window's frame 0
//
// The reader maps every observation onto the observe stage's windows, frames
// and grid, and refuses, naming the file and the variable, what it cannot
// place: a missing group or variable, a window that is not one, a time outside
// the window or between two frames, a place outside the domain, NaN values,
// non-positive or NaN errors, two observations of the same place and time,
// and a place observed in some of its channels only (a mask is over places).
// Windows may be observed at other places and times than each other. When
// every place is a grid point, the observations are on the grid; when one is
// not, they are at the file's distinct places (`places`), which H then
// interpolates to (products::ObservationSet::places).
#pragma once

#include "products/products.hpp"

#include <ATen/ATen.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace assim::products {

// Where a file's observations fall: the observe stage's windows of the state.
struct ObservationPlaces {
  StateSpec state;                      // the observed states' (grid dims with their spacing)
  std::int64_t frame_steps = 1;         // model steps between frames
  std::int64_t windows = 0, frames = 0; // the windows the data is cut into, of `frames` frames
  std::vector<std::int64_t> observed;   // one frame's observation shape: channels..., grid...
  std::string variable;                 // the name in ObsValue, ObsError and PreQC
};

// The observations of a file on those windows, as the observation set holds them.
struct FileObservations {
  at::Tensor observations;  // (window, time, channels..., grid... or place), 0 where unobserved
  at::Tensor mask;          // (time, grid... or place), 1 where observed in any window
  at::Tensor window_mask;   // (window, time, grid... or place), where windows differ; undefined: `mask` in each
  at::Tensor places;        // (place, grid dims): coordinates in their units; undefined: on the grid
  at::Tensor sigma;         // (window, time, observation dims...): ObsError, 0 where unobserved
  at::Tensor background;    // (window, state dims...), undefined without a Background group
  std::int64_t flagged = 0; // observations that PreQC flags, skipped
};

FileObservations read_observation_file(const std::filesystem::path& path, const ObservationPlaces& places);

// Where the file of observe stage `observe` falls on the windows of its data,
// generate stage `generate`, from their settings alone, so that `validate`
// reads the file before anything runs. Throws Error when the operator cannot
// observe the data's states.
ObservationPlaces places_of(const Config& observe, const Config& generate);

// The observation set's observations (and its background) in that layout.
void write_observation_file(const std::filesystem::path& path, const ObservationSet& set, const std::string& variable);

}  // namespace assim::products
