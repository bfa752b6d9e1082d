// The qg plugin: one model type.
#include "qg_model.hpp"

#include <assim/registrar.hpp>

ASSIM_PLUGIN("qg", "0.3.0") {
  registrar.add<assim::qg::TwoLayerModel>(
      "model.qg", "two-layer quasi-geostrophic model on a doubly periodic grid (pyqg's scheme, FFTW)");
  registrar.add_deprecated_name("qg.two_layer", "model.qg");
}
