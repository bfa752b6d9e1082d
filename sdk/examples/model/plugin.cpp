// The plugin: registers the model under the name experiments use as `type:`.
#include "advection.hpp"

ASSIM_PLUGIN("example_advection", "1.0.0") {
  registrar.add<example::Advection>("model.example_advection", "a tracer advected and diffused on a periodic line");
}
