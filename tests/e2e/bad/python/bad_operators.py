"""Python operators that break the rules, one per class, for the bad-input
cases python_*.yaml beside this folder: each must stop the run with the
experiment's file:line:key and this file's line."""
import threading
import time

import torch


class NoApply:
    def forward(self, x):
        return x


class WrongShape:
    def apply(self, x):
        return x[..., :-1]


class Raises:
    def apply(self, x):
        raise ValueError("this operator refuses every state")


class Counting:
    def __init__(self):
        self.calls = 0

    def apply(self, x):
        self.calls += 1
        return x


class Threaded:
    def apply(self, x):
        threading.Thread(target=time.sleep, args=(2,)).start()
        return x


class Declared:
    parameters = {"width": {"type": int, "default": 1, "doc": "half-width", "at_least": 0}}

    def __init__(self, width):
        self.width = width

    def apply(self, x):
        return torch.roll(x, self.width, dims=-1)


class BadDeclaration:
    parameters = {"width": {"type": int, "default": 1.5, "doc": "half-width"}}

    def apply(self, x):
        return x


class NoGradient:
    def apply(self, x):
        if x.requires_grad:
            raise RuntimeError("this operator has no gradient")
        return x
