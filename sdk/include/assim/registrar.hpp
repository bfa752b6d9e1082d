// What a plugin's registration function receives: it adds each component
// type it provides under the name experiments use as `type:`.
#pragma once

#include <assim/component.hpp>
#include <assim/config.hpp>
#include <assim/parameters.hpp>

#include <functional>
#include <memory>
#include <string>

namespace assim {

struct ASSIM_API ComponentType {
  std::string name;        // "model.qg": kind, then what it is
  Kind kind = Kind::Model;
  std::string doc;         // one line
  Parameters parameters;
  std::function<std::shared_ptr<Component>(const Config&)> create;
};

class ASSIM_API Registrar {
 public:
  virtual ~Registrar();
  virtual void add_type(ComponentType type) = 0;
  // An old name of a type this plugin adds under `name`: experiments that
  // still use it run, with a warning that names the new one.
  virtual void add_deprecated_name(std::string old_name, std::string name) = 0;

  // T derives from one of Model, ObservationOperator, Prior, Sampler, has a
  // constructor T(const Config&) and `static Parameters parameters()`.
  template <class T>
  void add(std::string name, std::string doc) {
    add_type(ComponentType{std::move(name), T::kind, std::move(doc), T::parameters(),
                           [](const Config& config) -> std::shared_ptr<Component> {
                             return std::make_shared<T>(config);
                           }});
  }
};

}  // namespace assim
