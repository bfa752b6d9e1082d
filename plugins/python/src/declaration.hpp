// A Python class's parameters: its `parameters` class attribute read as the
// SDK's declaration (assim::Parameters), the one every plugin's validation,
// defaults and `assim plugins --verbose` come from, and the checked values
// handed back to the class as keyword arguments.
//
//     parameters = {
//         "scale": {"type": float, "default": 3.0, "unit": "1 / state units",
//                   "doc": "a in arctan(a x)", "above": 0},
//     }
//
// type: bool, int, float, str, list[float], list[int] or list[str]; doc:
// one line; default: absent for a required parameter; unit: optional; the
// constraints above, at_least, below, at_most (numbers) and one_of (str).
#pragma once

#include <assim/config.hpp>
#include <assim/parameters.hpp>

#include <pybind11/pybind11.h>

#include <string>

namespace assim::python {

// The declaration of `cls` (none when it has no `parameters`). Throws
// assim::Error saying what is wrong with it, naming `where` (its file:line).
Parameters declared_parameters(const pybind11::handle& cls, const std::string& where);

// The values of `declared` in `config`, as keyword arguments of the class.
pybind11::dict keyword_arguments(const Config& config, const Parameters& declared);

}  // namespace assim::python
