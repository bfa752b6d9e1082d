"""Python models that break the contract, one per case (python_model_*.yaml)."""
import torch


class NoStep:
    def state_spec(self):
        return {"variable": "x", "units": "1", "dims": [{"name": "site", "size": 12}], "time_step": 0.05}

    def initial_state(self, members, seed):
        return torch.zeros((members, 12), dtype=torch.float64)


class ShrinkingStep(NoStep):
    def step(self, x):
        return x[..., :-1]


class NoTimeStep(ShrinkingStep):
    def state_spec(self):
        return {"variable": "x", "units": "1", "dims": [{"name": "site", "size": 12}]}
