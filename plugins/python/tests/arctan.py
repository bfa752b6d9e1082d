"""obs.arctan (plugins/observations/src/operators.hpp) written in Python: its
twin, which twin.yaml runs beside it. The same ATen kernels on the same
tensors: the numbers must be the same, bit for bit."""
import torch


class Arctan:
    parameters = {
        "scale": {"type": float, "default": 3.0, "unit": "1 / state units", "doc": "a in arctan(a x)",
                  "above": 0},
    }

    def __init__(self, scale):
        self.scale = scale

    def apply(self, x):
        return torch.atan(self.scale * x)
