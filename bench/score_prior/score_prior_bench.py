"""The prior.score_unet network rebuilt in PyTorch (Debian's python3-torch,
the same 1.13.1 as the C++ LibTorch) as a PyTorch user writes it: float32,
default (NCHW) layout. Timed the same way as score_prior_bench.cpp, whose
ways of computing (--compute) it runs in alternating rounds; prints both
with the ratios C++ / PyTorch (README.md).

    /usr/bin/python3 bench/score_prior/score_prior_bench.py BUILD/bench/score_prior/score_prior_bench \
        [--channels 16,32,64] [--blocks 2] [--kernel 3] [--grid 64] [--window 9] [--seconds 3] [--rounds 3] \
        [--compute nchw-fp32,nhwc-fp32,nhwc-bf16,auto]

auto: what `precision: auto` picks at each threads and batch (measured in the C++ process as a fit
measures); the script prints its choices, their timings and auto's rate over the better of
nhwc-fp32 and nhwc-bf16 when both run.
"""
import argparse
import math
import subprocess
import time

import torch
from torch import nn
import torch.nn.functional as F


def conv(cin, cout, k, stride=1):
    # A 1 x 1 kernel needs no padding (a circular pad of width 0 would still copy its input).
    if k == 1:
        return nn.Conv2d(cin, cout, 1, stride=stride)
    return nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, padding_mode="circular")


class ChannelNorm(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(c))
        self.bias = nn.Parameter(torch.zeros(c))

    def forward(self, x):
        centred = x - x.mean(1, keepdim=True)
        var = centred.square().mean(1, keepdim=True)
        return centred * torch.rsqrt(var + 1e-5) * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)


class ResidualBlock(nn.Module):
    def __init__(self, c, emb, k):
        super().__init__()
        self.project = nn.Linear(emb, c)
        self.norm = ChannelNorm(c)
        self.expand = conv(c, 4 * c, k)
        self.contract = conv(4 * c, c, 1)

    def forward(self, x, emb):
        e = self.project(emb)
        h = self.norm(x + e.view(e.shape[0], e.shape[1], 1, 1))
        return x + self.contract(F.silu(self.expand(h)))


class TemporalBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.expand = nn.Conv1d(c, 4 * c, 3, padding=1)
        self.contract = nn.Conv1d(4 * c, c, 1)

    def forward(self, x, frames):
        n, c, h, w = x.shape
        b = n // frames
        y = x.view(b, frames, c, h, w).permute(0, 3, 4, 2, 1).reshape(b * h * w, c, frames)
        y = self.contract(F.silu(self.expand(y)))
        return x + y.view(b, h, w, c, frames).permute(0, 4, 3, 1, 2).reshape(n, c, h, w)


class UNet(nn.Module):
    def __init__(self, cin, channels, blocks, k, frequencies=16, hidden=256, emb=64):
        super().__init__()
        self.frequencies = frequencies
        self.embed_in = nn.Linear(2 * frequencies, hidden)
        self.embed_out = nn.Linear(hidden, emb)
        self.head = conv(cin, channels[0], k)
        self.tail = conv(channels[0], cin, k)
        n = len(channels)
        self.down = nn.ModuleList([conv(channels[i - 1], channels[i], k, 2) for i in range(1, n)])
        self.up = nn.ModuleList([conv(channels[i + 1], channels[i], k) for i in range(n - 1)])
        self.down_time = nn.ModuleList([TemporalBlock(channels[i]) for i in range(1, n)])
        self.up_time = nn.ModuleList([TemporalBlock(channels[i]) for i in range(1, n)])
        self.down_blocks = nn.ModuleList(
            [nn.ModuleList([ResidualBlock(c, emb, k) for _ in range(blocks)]) for c in channels])
        self.up_blocks = nn.ModuleList(
            [nn.ModuleList([ResidualBlock(c, emb, k) for _ in range(blocks)]) for c in channels])

    def forward(self, z, t):
        b, frames, c, h, w = z.shape
        k = torch.arange(1, self.frequencies + 1, dtype=t.dtype) * math.pi
        phase = t.view(-1, 1) * k
        e = self.embed_out(F.silu(self.embed_in(torch.cat([torch.cos(phase), torch.sin(phase)], 1))))
        emb = e.unsqueeze(1).expand(b, frames, e.shape[1]).reshape(b * frames, e.shape[1])
        x = self.head(z.reshape(b * frames, c, h, w))
        levels = len(self.down_blocks)
        skips = []
        for i in range(levels):
            if i > 0:
                x = self.down[i - 1](x)
            for block in self.down_blocks[i]:
                x = block(x, emb)
            if i > 0:
                x = self.down_time[i - 1](x, frames)
            if i + 1 < levels:
                skips.append(x)
        for i in reversed(range(levels)):
            if i + 1 < levels:
                x = self.up[i](F.interpolate(x, scale_factor=2.0, mode="nearest")) + skips[i]
            if i > 0:
                x = self.up_time[i - 1](x, frames)
            for block in self.up_blocks[i]:
                x = block(x, emb)
        return self.tail(x).view(b, frames, c, h, w)


def rate(work, per_call, seconds):
    for _ in range(2):
        work()
    start = time.perf_counter()
    calls = 0
    elapsed = 0.0
    while elapsed < seconds or calls < 3:
        work()
        calls += 1
        elapsed = time.perf_counter() - start
    return calls * per_call / elapsed


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("cpp")
    parser.add_argument("--channels", default="16,32,64")
    parser.add_argument("--blocks", type=int, default=2)
    parser.add_argument("--kernel", type=int, default=3)
    parser.add_argument("--grid", type=int, default=64)
    parser.add_argument("--window", type=int, default=9)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--compute", default="nchw-fp32,nhwc-fp32")
    a = parser.parse_args()
    args = ["--channels", a.channels, "--blocks", str(a.blocks), "--kernel", str(a.kernel), "--grid", str(a.grid),
            "--window", str(a.window), "--seconds", str(a.seconds), "--compute", a.compute]
    channels = [int(c) for c in a.channels.split(",")]
    torch.manual_seed(0)
    net = UNet(2, channels, a.blocks, a.kernel)
    params = sum(p.numel() for p in net.parameters())
    eta = 1e-3
    omega = math.acos(math.sqrt(eta))
    optimiser = torch.optim.AdamW(net.parameters(), lr=1e-4, weight_decay=1e-5)

    # Rounds alternate C++ and PyTorch and each keeps its best rate: on a
    # machine shared with other work, the best of several is the one least
    # disturbed, and alternation gives both sides the same chances.
    cpp, py = {}, {}
    chose, timings = {}, {}
    cpp_params = None
    gflop, peak = 0.0, {}
    for _ in range(a.rounds):
        out = subprocess.run([a.cpp] + args, check=True, capture_output=True, text=True).stdout
        for line in out.splitlines():
            words = line.split()
            if words[0] == "parameters":
                cpp_params = int(words[1])
            elif words[0] == "forward_gflop_per_window":
                gflop = float(words[1])
            elif words[0] == "peak":
                peak[int(words[2])] = max(peak.get(int(words[2]), 0), float(words[4]))
            elif words[0] == "auto":
                # What precision: auto measured and chose in this round, for a fit or for sampling.
                timings.setdefault((int(words[2]), int(words[4]), words[5]), []).append(" ".join(words[6:]))
            elif words[0] == "compute":
                key, value = (words[1], int(words[3]), int(words[5])), (float(words[7]), float(words[9]))
                cpp[key] = tuple(map(max, zip(cpp.get(key, (0, 0)), value)))
                if words[1] == "auto":
                    chose.setdefault(key[1:], []).append((words[11], words[12]))
        for threads in (1, 2):
            torch.set_num_threads(threads)
            for batch in (1, 8):
                x = torch.randn(batch, a.window, 2, a.grid, a.grid)

                def train():
                    t = torch.rand(batch)
                    eps = torch.randn_like(x)
                    mu = torch.cos(omega * t).square().view(-1, 1, 1, 1, 1)
                    sigma = torch.sqrt(1 - mu.square() + eta * eta)
                    loss = (net(mu * x + sigma * eps, t) - eps).square().mean()
                    optimiser.zero_grad()
                    loss.backward()
                    optimiser.step()

                def denoise():
                    with torch.no_grad():
                        net(x, torch.rand(batch))

                value = (rate(train, batch, a.seconds), rate(denoise, batch, a.seconds))
                key = (threads, batch)
                py[key] = tuple(map(max, zip(py.get(key, (0, 0)), value)))

    print(f"network: channels {channels}, blocks {a.blocks}, kernel {a.kernel}, grid {a.grid}, window {a.window}")
    print(f"parameters: C++ {cpp_params}, PyTorch {params}" + ("" if cpp_params == params else "  MISMATCH"))
    print(f"forward pass: {gflop:.3f} GFLOP per window (convolutions and the embedding; a training step is 3x); "
          "peak: a 64 -> 256 3 x 3 channels-last convolution, " +
          ", ".join(f"{p:.0f} GFLOP/s on {t} thread(s)" for t, p in sorted(peak.items())))
    print("| C++ computes | threads | batch | train C++ | train PyTorch | ratio | C++ % of peak | denoise C++ | "
          "denoise PyTorch | ratio | C++ % of peak |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for key in sorted(cpp, key=lambda k: (a.compute.split(",").index(k[0]), k[1], k[2])):
        (ct, cd), (pt, pd) = cpp[key], py[key[1:]]
        share_t, share_d = 300 * ct * gflop / peak[key[1]], 100 * cd * gflop / peak[key[1]]
        print(f"| {key[0]} | {key[1]} | {key[2]} | {ct:.2f} | {pt:.2f} | {ct / pt:.2f} | {share_t:.0f} | {cd:.2f} | "
              f"{pd:.2f} | {cd / pd:.2f} | {share_d:.0f} |")
    print(f"best of {a.rounds} alternating rounds of {a.seconds} s per measurement")
    if chose:
        # precision: auto against the better of what it chose between, both measured above.
        print("auto chose (one choice per round; train / denoise):")
        for key in sorted(chose):
            line = f"  threads {key[0]} batch {key[1]}: " + ", ".join(f"{t} / {d}" for t, d in chose[key])
            rivals = [cpp[(c,) + key] for c in ("nhwc-fp32", "nhwc-bf16") if (c,) + key in cpp]
            if len(rivals) == 2:
                at, ad = cpp[("auto",) + key]
                line += (f"; auto / best of nhwc-fp32, nhwc-bf16: train {at / max(r[0] for r in rivals):.2f}, "
                         f"denoise {ad / max(r[1] for r in rivals):.2f}")
            print(line)
        for key in sorted(timings):
            for text in timings[key]:
                print(f"  threads {key[0]} batch {key[1]} {key[2]}: {text}")
    print("(train: samples/s, each a window of frames; denoise: window evaluations/s; ratio C++ / PyTorch)")


if __name__ == "__main__":
    main()
