"""An observation operator written in Python: a moving average along the last
state dim, periodic (Lorenz-96's ring of sites, QG's x), each observation the
mean of the 2 width + 1 grid points around it.

No C++ and no build: name this file and the class in an experiment
(experiment.yaml beside it) and the C++ kernel calls it like any operator
(plugins/python/README.md says what such a class may and may not do).
"""
import torch


class Blur:
    # Declared like a C++ plugin's parameters: checked before anything runs,
    # defaults filled, listed by `assim plugins --verbose`.
    parameters = {
        "width": {"type": int, "default": 1, "unit": "grid points", "doc": "half-width of the window",
                  "at_least": 0},
    }
    linear = True  # a mean of grid points is linear in x

    def __init__(self, width):
        self.width = width

    def apply(self, x):
        # x: (batch..., state dims...). Torch operations only, so that autograd
        # differentiates through them (4D-Var, SDA, SOAD).
        shifts = range(-self.width, self.width + 1)
        return torch.stack([torch.roll(x, s, dims=-1) for s in shifts]).mean(dim=0)
