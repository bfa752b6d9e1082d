// The variational plugin: 4D-Var (and 3D-Var, its one-frame window) by
// automatic differentiation through a model's differentiable step.
#include "var4d.hpp"

#include <assim/registrar.hpp>

ASSIM_PLUGIN("variational", "0.1.0") {
  registrar.add<assim::variational::Var4D>(
      "sampler.var4d",
      "4D-Var: minimises the (strong- or weak-constraint) cost over the window by L-BFGS, gradient by autograd "
      "through the model's differentiable step; one frame is 3D-Var; several members are an ensemble of data "
      "assimilations");
}
