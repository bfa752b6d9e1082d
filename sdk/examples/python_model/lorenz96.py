"""model.lorenz96 (plugins/lorenz/src/plugin.cpp) written in Python: its twin,
which plugins/python/tests/model_twin.yaml runs beside it. step is the C++ model's differentiable RK4 in
the same torch operations, in the same order; initial_state draws from the
same generator (mt19937 seeded by seed) as the C++ one."""
import torch


class Lorenz96:
    parameters = {
        "sites": {"type": int, "default": 40, "doc": "number of variables on the circle", "at_least": 4},
        "forcing": {"type": float, "default": 8.0, "unit": "1", "doc": "constant forcing F", "at_least": 0},
        "dt": {"type": float, "default": 0.05, "unit": "model time units", "doc": "RK4 time step", "above": 0},
        "initial_variance": {"type": float, "default": 0.001, "unit": "1",
                             "doc": "variance of the initial states around e_1 (Sakov & Oke 2008)", "at_least": 0},
    }

    def __init__(self, sites, forcing, dt, initial_variance):
        self.sites, self.forcing, self.dt, self.initial_variance = sites, forcing, dt, initial_variance

    def state_spec(self):
        return {"variable": "x", "long_name": "Lorenz-96 state", "units": "1",
                "dims": [{"name": "site", "size": self.sites, "units": "1", "spacing": 1.0}],
                "time_step": self.dt, "time_units": "1"}

    def initial_state(self, members, seed):
        generator = torch.Generator().manual_seed(seed)
        e1 = torch.zeros(self.sites, dtype=torch.float64)
        e1[0] = 1.0
        noise = torch.randn((members, self.sites), generator=generator, dtype=torch.float64)
        return e1 + self.initial_variance ** 0.5 * noise

    def tendency(self, x):
        # dx_i/dt = (x_{i+1} - x_{i-2}) x_{i-1} - x_i + F (Lorenz 1996), by cyclic shifts along the sites.
        # The shifts are made in the order the C++ build evaluates the same expression's operands (GCC:
        # right to left), so that autograd adds the gradient's pieces in the same order.
        x_before = torch.roll(x, 1, -1)
        x_two_before = torch.roll(x, 2, -1)
        x_after = torch.roll(x, -1, -1)
        return (x_after - x_two_before) * x_before - x + self.forcing

    def step(self, x):
        dt = self.dt
        k1 = self.tendency(x)
        k2 = self.tendency(x + 0.5 * dt * k1)
        k3 = self.tendency(x + 0.5 * dt * k2)
        k4 = self.tendency(x + dt * k3)
        return x + dt / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
