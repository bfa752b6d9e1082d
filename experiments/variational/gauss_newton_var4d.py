#!/usr/bin/env python3
"""An independent check of the sliding 4D-Var numbers of lorenz96_dapper.yaml.

Cycles 4D-Var on a Lorenz-96 twin (40 sites, F = 8, dt 0.05, observations every 4 steps of all
sites with R = I) the way DAPPER's da_methods/variational.py Var4D reads: a static
B = xB * cov(truth over time), the control at the window's start, the newest observation only,
10 Gauss-Newton iterations on tangent-linear propagators (expm(dt J(x)) per step, as DAPPER's
Lorenz96.dstep_dx, or the RK4 step's exact derivative), the analysis at the window's end, and the
smoothed start state slid by one observation time. numpy and scipy only (Debian: python3-numpy
python3-scipy); it shares no code with sampler.var4d, which minimises the same cost by L-BFGS on
autograd's gradient.

    python3 experiments/variational/gauss_newton_var4d.py LAG XB [expm|exact] [SEED]
"""
import sys

import numpy as np
from scipy.linalg import expm

N, FORCING, DT, DKO = 40, 8.0, 0.05, 4
CYCLES, BURN_IN, ITERATIONS = 1000, 100, 10


def tendency(x):
    return (np.roll(x, -1) - np.roll(x, 2)) * np.roll(x, 1) - x + FORCING


def rk4(x):
    k1 = tendency(x)
    k2 = tendency(x + DT / 2 * k1)
    k3 = tendency(x + DT / 2 * k2)
    k4 = tendency(x + DT * k3)
    return x + DT / 6 * (k1 + 2 * k2 + 2 * k3 + k4)


def tendency_jacobian(x):
    jac = np.zeros((N, N))
    for i in range(N):
        jac[i, i] = -1
        jac[i, i - 2] = -x[i - 1]
        jac[i, (i + 1) % N] = x[i - 1]
        jac[i, i - 1] = x[(i + 1) % N] - x[i - 2]
    return jac


def step_derivative(x, kind):
    if kind == "expm":
        return expm(DT * tendency_jacobian(x))
    h, out = 1e-6, np.zeros((N, N))
    for j in range(N):
        e = np.zeros(N)
        e[j] = h
        out[:, j] = (rk4(x + e) - rk4(x - e)) / (2 * h)
    return out


def main():
    lag, xb = int(sys.argv[1]), float(sys.argv[2])
    kind = sys.argv[3] if len(sys.argv) > 3 else "expm"
    rng = np.random.default_rng(int(sys.argv[4]) if len(sys.argv) > 4 else 3)
    x = np.eye(N)[0] + np.sqrt(0.001) * rng.standard_normal(N)
    truth = [x]
    for _ in range(CYCLES * DKO):
        x = rk4(x)
        truth.append(x)
    truth = np.array(truth)
    observations = truth[DKO::DKO] + rng.standard_normal((CYCLES, N))  # observation ko at step (ko + 1) DKO
    lam, vec = np.linalg.eigh(xb * np.cov(truth.T))
    b12 = vec @ np.diag(np.sqrt(np.maximum(lam, 0))) @ vec.T
    start = np.eye(N)[0].copy()
    errors = []
    for ko in range(-1, CYCLES + lag + 1):
        k_lag = ko - lag
        window = range(max(0, k_lag + 1), min(ko, CYCLES - 1) + 1)
        if 0 <= ko <= CYCLES - 1:
            w, x0 = np.zeros(N), start.copy()
            for _ in range(ITERATIONS):
                x, tangent = x0 + b12 @ w, b12.copy()
                for _ in window:
                    for _ in range(DKO):
                        tangent = step_derivative(x, kind) @ tangent
                        x = rk4(x)
                dw = np.linalg.solve(tangent.T @ tangent + np.eye(N), tangent.T @ (observations[ko] - x) - w)
                w += dw
            if ko >= BURN_IN:
                errors.append(np.sqrt(np.mean((x + tangent @ dw - truth[(ko + 1) * DKO]) ** 2)))
            start = x0 + b12 @ w
        if -1 <= k_lag < CYCLES - 1:
            for _ in range(DKO):
                start = rk4(start)
    print(f"Lag {lag} xB {xb} tangent {kind}: rmse.a {np.mean(errors):.3f} over {len(errors)} analyses")


if __name__ == "__main__":
    main()
