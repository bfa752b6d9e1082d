// The qg plugin: one model type.
#include "model.hpp"

#include <assim/registrar.hpp>

ASSIM_PLUGIN("qg", "0.2.0") {
  registrar.add<qg::TwoLayerModel>(
      "qg.two_layer", "two-layer quasi-geostrophic model on a doubly periodic grid (pyqg's scheme, FFTW)");
}
