// The plugin: registers the operator under the name experiments use as `type:`.
#include "cubic.hpp"

ASSIM_PLUGIN("example_cubic", "1.0.0") {
  registrar.add<example::Cubic>("example.cubic", "y = scale * x^3, element-wise");
}
