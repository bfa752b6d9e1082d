"""The sampling loops of sampler.soad and sampler.sda written in PyTorch
(Debian's python3-torch, the same 1.13 as the C++ LibTorch) on the network
class of bench/score_prior/score_prior_bench.py, timed against the C++
samplers (score_sampling_bench.cpp): seconds per assimilated window, rounds of
C++ and PyTorch alternating, the least of each kept, ratios printed
(README.md).

    /usr/bin/python3 bench/score_sampling/score_sampling_bench.py BUILD/bench/score_sampling/score_sampling_bench \
        [--steps 8] [--corrections 0] [--members 1,4] [--threads 1,2] [--rounds 3] [--grid 32] [--window 9] \
        [--channels 16,32,64] [--blocks 2] [--kernel 3]

First it checks the loops: the C++ program writes its weights, the problem
and 2 members of each sampler (seed 7); the loops below, run on those
weights with the same seed, draw the same noise in the same order, so their
samples should agree up to float32 rounding.
"""
import argparse
import math
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "score_prior"))
from score_prior_bench import UNet  # noqa: E402  (the one Python copy of the network)

ETA = 1e-3
OMEGA = math.acos(math.sqrt(ETA))
SIGMA_O = 0.1
SIGMA_B = 0.1


def mu(t):
    c = math.cos(OMEGA * t)
    return c * c


def sigma(t):
    m = mu(t)
    return math.sqrt(1 - m * m + ETA * ETA)


def h(x):
    return torch.atan(3.0 * x)


def grid(steps):
    return [1.0 - i / steps for i in range(steps + 1)]


def member_dims(x):
    return tuple(range(1, x.dim()))


def langevin(x, eps, sig, tau, generator):
    delta = tau / eps.square().mean(member_dims(eps), keepdim=True)
    return x - sig * (delta * eps + torch.sqrt(2 * delta) * torch.randn(x.shape, generator=generator))


def check_finite(x, step):
    if not bool(torch.isfinite(x).all()):
        raise RuntimeError(f"samples not finite in step {step}")


@torch.no_grad()  # as the C++ samplers: a graph only inside the guidance
def soad(net, y, mask, background, members, steps, corrections, seed, tau=0.25, sigma_z=1.0):
    """SOAD, Algorithm 1, on z = (x, h(x)); returns the x channels."""
    generator = torch.Generator().manual_seed(seed)
    frames, c_h = y.shape[0], y.shape[1]
    c = background.shape[0]
    z = torch.randn((members, frames, c + c_h) + tuple(y.shape[2:]), generator=generator)

    def guidance(z, t):
        m, s = mu(t), sigma(t)
        r = s / m
        with torch.enable_grad():
            z_t = z.detach().requires_grad_(True)
            eps = net(z_t, torch.full((members,), t))
            # L = || mu y - T z + sigma T eps ||^2, T = the masked h channels
            residual = mask * (m * y - z_t[:, :, c:] + s * eps[:, :, c:])
            grad, = torch.autograd.grad(residual.square().sum(), z_t)
        s2, r2 = sigma_z * sigma_z, r * r
        c_t = (r2 / 2) / (SIGMA_O * SIGMA_O + s2 * r2 / (s2 + r2))
        # c_t <- min(c_t, 1 / max|grad L|), the max per member as in soad.cpp
        clipped = torch.clamp(1 / grad.abs().amax(member_dims(grad), keepdim=True), max=c_t)
        return (s * eps + clipped * grad).detach()

    def correct(z, s):
        # forward-diffusion corrector: observed entries, then frame 0's state
        m, r = mu(s), sigma(s) / mu(s)
        if r > SIGMA_O:
            drawn = m * (y + math.sqrt(r * r - SIGMA_O * SIGMA_O) * torch.randn((members,) + tuple(y.shape),
                                                                              generator=generator))
            z[:, :, c:] = torch.where(mask != 0, drawn, z[:, :, c:])
        if r > SIGMA_B:
            z[:, 0, :c] = m * (background + math.sqrt(r * r - SIGMA_B * SIGMA_B) *
                               torch.randn((members,) + tuple(background.shape), generator=generator))
        return z

    times = grid(steps)
    for i in range(steps):
        t, s = times[i], times[i + 1]
        pi = guidance(z, t)
        a = mu(s) / mu(t)
        z = correct(a * z + (sigma(s) - a * sigma(t)) * (pi / sigma(t)), s)
        for _ in range(corrections):
            pi = guidance(z, s)
            z = correct(langevin(z, pi / sigma(s), sigma(s), tau, generator), s)
        check_finite(z, i + 1)
    return z[:, :, :c].contiguous()


@torch.no_grad()
def sda(net, y, mask, background, members, steps, corrections, seed, tau=0.5, gamma=1e-2):
    """SDA with the Gaussian likelihood of h(x0_hat) and of the background, full gradient."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn((members, y.shape[0]) + tuple(background.shape), generator=generator)

    def guided_eps(x, t):
        m, s = mu(t), sigma(t)
        r = s / m
        with torch.enable_grad():
            x_t = x.detach().requires_grad_(True)
            eps = net(x_t, torch.full((members,), t))
            x0 = (x_t - s * eps) / m
            log_likelihood = -0.5 * (mask * (y - h(x0)).square()).sum() / (SIGMA_O * SIGMA_O + gamma * r * r)
            log_likelihood = log_likelihood - 0.5 * (background - x0[:, 0]).square().sum() / (
                SIGMA_B * SIGMA_B + gamma * r * r)
            grad, = torch.autograd.grad(log_likelihood, x_t)
        return (eps - s * grad).detach()

    times = grid(steps)
    for i in range(steps):
        t, s = times[i], times[i + 1]
        a = mu(s) / mu(t)
        x = a * x + (sigma(s) - a * sigma(t)) * guided_eps(x, t)
        for _ in range(corrections):
            x = langevin(x, guided_eps(x, s), sigma(s), tau, generator)
        check_finite(x, i + 1)
    return x


def cpp_name_to_python(name):
    name = re.sub(r"^(down|up)_time(\d+)\.", lambda m: f"{m[1]}_time.{int(m[2]) - 1}.", name)
    return re.sub(r"^(down|up)_block(\d+)_(\d+)\.", lambda m: f"{m[1]}_blocks.{m[2]}.{m[3]}.", name)


def network(saved, prefix, cin, a, channels):
    net = UNet(cin, channels, a.blocks, a.kernel)
    state = {cpp_name_to_python(k[len(prefix):]): v for k, v in saved.items() if k.startswith(prefix)}
    net.load_state_dict(state, strict=True)
    return net


def summary(x, truth):
    mean = x.mean(0)
    return (f"shape {tuple(x.shape)}, finite {bool(torch.isfinite(x).all())}, mean {x.mean():+.4f}, "
            f"std {x.std():.4f}, rmse(member mean, truth) {(mean - truth).square().mean().sqrt():.4f}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("cpp")
    parser.add_argument("--channels", default="16,32,64")
    parser.add_argument("--blocks", type=int, default=2)
    parser.add_argument("--kernel", type=int, default=3)
    parser.add_argument("--grid", type=int, default=32)
    parser.add_argument("--window", type=int, default=9)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--corrections", type=int, default=0)
    parser.add_argument("--members", default="1,4")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--skip-check", action="store_true", help="time only; the weights still come from C++")
    parser.add_argument("--malloc-as-cpp", action="store_true",
                        help="run Python with glibc's mmap and trim thresholds at the values the C++ program (and "
                             "the assim application) sets with mallopt: 256 MiB and 1 GiB")
    a = parser.parse_args()
    if a.malloc_as_cpp and "MALLOC_MMAP_THRESHOLD_" not in os.environ:
        # glibc reads these at start-up only: start again with them set.
        env = dict(os.environ, MALLOC_MMAP_THRESHOLD_=str(256 << 20), MALLOC_TRIM_THRESHOLD_=str(1 << 30))
        os.execve(sys.executable, [sys.executable] + sys.argv, env)
    channels = [int(c) for c in a.channels.split(",")]
    members_list = [int(m) for m in a.members.split(",")]
    threads_list = [int(t) for t in a.threads.split(",")]
    common = ["--channels", a.channels, "--blocks", str(a.blocks), "--kernel", str(a.kernel), "--grid", str(a.grid),
              "--window", str(a.window), "--steps", str(a.steps), "--corrections", str(a.corrections)]
    load_start = os.getloadavg()

    # Check on the C++ program's own weights, problem and seed.
    with tempfile.TemporaryDirectory() as folder:
        file = os.path.join(folder, "check.pt")
        check = common if not a.skip_check else common[:-4] + ["--steps", "1", "--corrections", "0"]
        out = subprocess.run([a.cpp] + check + ["--check", file], check=True, capture_output=True, text=True).stdout
        saved = torch.load(file)
    cpp_params = out.split()
    soad_net = network(saved, "soad.", 4, a, channels)
    sda_net = network(saved, "sda.", 2, a, channels)
    truth, y, background = saved["truth"], saved["y"], saved["background"]
    mask = torch.ones_like(y)
    samplers = {"soad": (soad, soad_net), "sda": (sda, sda_net)}
    torch.set_num_threads(1)
    print(f"parameters: C++ soad {cpp_params[2]} sda {cpp_params[4]}, PyTorch soad "
          f"{sum(p.numel() for p in soad_net.parameters())} sda {sum(p.numel() for p in sda_net.parameters())}")
    for name, (loop, net) in samplers.items():
        if a.skip_check:
            break
        ours = loop(net, y, mask, background, 2, a.steps, a.corrections, 7)
        theirs = saved[name + "_samples"]
        print(f"check {name}, 2 members, seed 7, {a.steps} steps, {a.corrections} corrections:")
        print(f"  C++     {summary(theirs, truth)}")
        print(f"  PyTorch {summary(ours, truth)}")
        difference = (ours - theirs).abs().max()
        print(f"  max |C++ - PyTorch| {difference:.3g} (relative to max |C++| {difference / theirs.abs().max():.2g})")

    # Timing: rounds alternate the C++ program and the loops here; each keeps
    # its least time (the round least disturbed by other work on the machine).
    cpp, py = {}, {}
    args = common + ["--members", a.members, "--threads", a.threads]
    for _ in range(a.rounds):
        out = subprocess.run([a.cpp] + args, check=True, capture_output=True, text=True).stdout
        for line in out.splitlines():
            w = line.split()
            if w[0] == "time":
                key = (w[1], int(w[3]), int(w[5]))
                cpp[key] = min(cpp.get(key, math.inf), float(w[7]))
        for threads in threads_list:
            torch.set_num_threads(threads)
            for members in members_list:
                for name, (loop, net) in samplers.items():
                    loop(net, y, mask, background, members, 1, a.corrections, 1)  # warm-up, as in C++
                    start = time.perf_counter()
                    x = loop(net, y, mask, background, members, a.steps, a.corrections, 1)
                    seconds = time.perf_counter() - start
                    assert bool(torch.isfinite(x).all())
                    key = (name, threads, members)
                    py[key] = min(py.get(key, math.inf), seconds)

    scale = 64 / a.steps
    print(f"\nnetwork: channels {channels}, blocks {a.blocks}, kernel {a.kernel}; grid {a.grid}, window {a.window}; "
          f"{a.steps} steps, {a.corrections} corrections; Python malloc "
          f"{'as C++' if 'MALLOC_MMAP_THRESHOLD_' in os.environ else 'glibc defaults'}; load average at start {load_start[0]:.2f}, "
          f"at end {os.getloadavg()[0]:.2f}")
    print("| sampler | threads | members | C++ s/window | PyTorch s/window | C++ s/member | PyTorch s/member | "
          "C++ / PyTorch |")
    print("|---|---|---|---|---|---|---|---|")
    for key in sorted(cpp, key=lambda k: (k[0] != "soad", k[1], k[2])):
        c, p = cpp[key] * scale, py[key] * scale
        print(f"| {key[0]} | {key[1]} | {key[2]} | {c:.2f} | {p:.2f} | {c / key[2]:.2f} | {p / key[2]:.2f} | "
              f"{c / p:.2f} |")
    print(f"seconds per window scaled to 64 steps ({a.steps} measured, after a 1-step warm-up); least of "
          f"{a.rounds} alternating rounds; C++ / PyTorch below 1: C++ faster")


if __name__ == "__main__":
    main()
