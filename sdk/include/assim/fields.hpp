// Each parameter written once: a declaration bound to the field of an
// options struct that it fills. The default is the field's initial value,
// so the name, unit, doc, constraints, default and storage are one line.
//
// ```cpp-body
// struct Options {
//   int steps = 256;
//   double tau = 0.25;
//   std::optional<double> radius;
// };
// assim::Fields<Options> fields;
// fields.integer("steps", &Options::steps, "", "reverse diffusion steps").at_least(1);
// fields.real("tau", &Options::tau, "1", "Langevin step factor").above(0);
// fields.real("radius", &Options::radius, "grid points", "localisation radius; absent: none").above(0);
// const assim::Parameters& declared = fields.parameters();  // what parameters() returns
// auto read = [&](const assim::Config& config) { return fields.read(config); };  // in the constructor
// ```
//
// Parameters with no field (a `$component`, a `$stage`) are declared with
// `fields.unbound()` on the same list and read from the Config directly.
#pragma once

#include <assim/config.hpp>
#include <assim/parameters.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace assim {

template <class Options>
class Fields {
 public:
  explicit Fields(Options defaults = Options{}) : defaults_(std::move(defaults)) {}

  Parameter& boolean(std::string name, bool Options::*field, std::string doc) {
    bind([field, name](const Config& c, Options& o) { o.*field = c.get<bool>(name); });
    return parameters_.boolean(std::move(name), defaults_.*field, std::move(doc));
  }
  template <class T>
  Parameter& integer(std::string name, T Options::*field, std::string unit, std::string doc) {
    bind([field, name](const Config& c, Options& o) { o.*field = static_cast<T>(c.get<std::int64_t>(name)); });
    return parameters_.integer(std::move(name), static_cast<std::int64_t>(defaults_.*field), std::move(unit),
                               std::move(doc));
  }
  template <class T>
  Parameter& integer(std::string name, std::optional<T> Options::*field, std::string unit, std::string doc) {
    bind([field, name](const Config& c, Options& o) {
      if (c.has(name)) o.*field = static_cast<T>(c.get<std::int64_t>(name));
    });
    return parameters_.optional(std::move(name), ParameterType::Integer, std::move(unit), std::move(doc));
  }
  Parameter& real(std::string name, double Options::*field, std::string unit, std::string doc) {
    bind([field, name](const Config& c, Options& o) { o.*field = c.get<double>(name); });
    return parameters_.real(std::move(name), defaults_.*field, std::move(unit), std::move(doc));
  }
  Parameter& real(std::string name, std::optional<double> Options::*field, std::string unit, std::string doc) {
    bind([field, name](const Config& c, Options& o) {
      if (c.has(name)) o.*field = c.get<double>(name);
    });
    return parameters_.optional(std::move(name), ParameterType::Real, std::move(unit), std::move(doc));
  }
  Parameter& string(std::string name, std::string Options::*field, std::string unit, std::string doc) {
    bind([field, name](const Config& c, Options& o) { o.*field = c.get<std::string>(name); });
    return parameters_.string(std::move(name), defaults_.*field, std::move(unit), std::move(doc));
  }
  Parameter& reals(std::string name, std::vector<double> Options::*field, std::string unit, std::string doc) {
    bind([field, name](const Config& c, Options& o) { o.*field = c.get<std::vector<double>>(name); });
    return parameters_.reals(std::move(name), defaults_.*field, std::move(unit), std::move(doc));
  }
  Parameter& integers(std::string name, std::vector<std::int64_t> Options::*field, std::string unit, std::string doc) {
    bind([field, name](const Config& c, Options& o) { o.*field = c.get<std::vector<std::int64_t>>(name); });
    return parameters_.integers(std::move(name), defaults_.*field, std::move(unit), std::move(doc));
  }
  // A string from a fixed list, stored as the value it names (an enum).
  template <class E>
  Parameter& choice(std::string name, E Options::*field, std::vector<std::pair<std::string, E>> names,
                    std::string doc) {
    std::string fallback;
    std::vector<std::string> words;
    for (const auto& [word, value] : names) {
      words.push_back(word);
      if (value == defaults_.*field) fallback = word;
    }
    bind([field, name, names](const Config& c, Options& o) {
      const std::string word = c.get<std::string>(name);
      for (const auto& [w, value] : names)
        if (w == word) o.*field = value;
    });
    return parameters_.string(std::move(name), fallback, "", std::move(doc)).one_of(words);
  }
  // A nested section filling a member struct with its own bound fields.
  template <class Sub>
  Parameter& section(std::string name, Sub Options::*field, std::string doc, const Fields<Sub>& fields) {
    bind([field, name, fields](const Config& c, Options& o) { o.*field = fields.read(c.section(name)); });
    return parameters_.section(std::move(name), std::move(doc), fields.parameters());
  }

  // The same list, for parameters that fill no field.
  Parameters& unbound() { return parameters_; }
  const Parameters& parameters() const { return parameters_; }

  // The defaults with every bound field read from `config`.
  Options read(const Config& config) const {
    Options out = defaults_;
    for (const auto& reader : readers_) reader(config, out);
    return out;
  }

 private:
  void bind(std::function<void(const Config&, Options&)> reader) {
    readers_.push_back(std::move(reader));
  }
  Options defaults_;
  Parameters parameters_;
  std::vector<std::function<void(const Config&, Options&)>> readers_;
};

}  // namespace assim
