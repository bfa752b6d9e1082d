"""How the cost of one window grows with the work: seconds per window of SOAD
and SDA (score_sampling_bench: the real samplers on prior.score_unet
networks of random weights, arctan(3x) observed everywhere, a background)
against the grid size, the members and the window length, and seconds per
LETKF analysis (the host's filter stage on model.qg, every point observed)
against the grid size and the members; with the exponent each grows by
(the slope of log time against log size between neighbouring sizes).

    /usr/bin/python3 bench/cost/cost_table.py build [--threads 1] [--steps 4] [--cycles 3] [--parts samplers,letkf]

Each SOAD / SDA time is one window of --steps reverse steps without Langevin
moves (a window of K steps costs K / steps times as much), the least of 2
repeats; each LETKF time is filter.nc's analysis_seconds_per_cycle over
--cycles daily cycles. One heavy job at a time: run it alone.
"""
import argparse
import math
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def sampler_seconds(bench, threads, steps, grid, window, members):
    out = subprocess.run([bench, "--grid", str(grid), "--window", str(window), "--members", str(members),
                          "--threads", str(threads), "--steps", str(steps), "--repeats", "2"],
                         check=True, capture_output=True, text=True).stdout
    times = {}
    for line in out.splitlines():
        m = re.match(r"time (\w+) threads \d+ members \d+ seconds ([0-9.]+)", line)
        if m:
            times[m.group(1)] = float(m.group(2))
    if set(times) != {"soad", "sda"}:
        sys.exit("cost_table: no SOAD and SDA times in\n" + out)
    return times


def letkf_seconds(assim, threads, cycles, nx, members, work):
    out = os.path.join(work, "runs")
    # dt 3600 s from nx 128 on (pyqg's 7200 s is unstable there); 24 or 12 steps a day.
    dt = 7200 if nx <= 64 else 3600 if nx <= 128 else 1800
    subprocess.run([assim, "run", os.path.join(HERE, "letkf_cost.yaml"), "--output", out, "--force",
                    "--threads", str(threads), "--log-level", "warning",
                    "--set", f"components.qg.nx={nx}", "--set", f"components.qg.dt={dt}",
                    "--set", f"stages.letkf.members={members}", "--set", f"stages.letkf.cycles={cycles}"],
                   check=True)
    dump = subprocess.run(["ncdump", "-h", os.path.join(out, "bench_letkf_cost", "letkf", "filter.nc")],
                          check=True, capture_output=True, text=True).stdout
    m = re.search(r":analysis_seconds_per_cycle = ([0-9.eE+-]+)", dump)
    if not m:
        sys.exit("cost_table: no analysis_seconds_per_cycle in filter.nc")
    return float(m.group(1))


def exponents(sizes, times):
    """Slopes of log t against log size between neighbours: '-' for the first."""
    out = ["-"]
    for i in range(1, len(sizes)):
        out.append("%.2f" % (math.log(times[i] / times[i - 1]) / math.log(sizes[i] / sizes[i - 1])))
    return out


def table(title, what, sizes, columns):
    print(f"\n{title}\n")
    print("| " + what + " | " + " | ".join(f"{name} s | exponent" for name in columns) + " |")
    print("|---|" + "---|---|" * len(columns))
    slopes = {name: exponents(sizes, times) for name, times in columns.items()}
    for i, size in enumerate(sizes):
        cells = " | ".join("%.4g | %s" % (columns[name][i], slopes[name][i]) for name in columns)
        print(f"| {size} | {cells} |")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("build")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--cycles", type=int, default=3)
    parser.add_argument("--grids", default="32,64,128,256")
    parser.add_argument("--members", default="1,4,16,64")
    parser.add_argument("--windows", default="5,9,17")
    parser.add_argument("--letkf-grids", default="32,64,128")
    parser.add_argument("--letkf-members", default="4,16,64")
    parser.add_argument("--parts", default="samplers,letkf", help="which tables: samplers, letkf or both")
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    if not parts or parts - {"samplers", "letkf"}:
        sys.exit("cost_table: --parts takes samplers, letkf or samplers,letkf")
    bench = os.path.join(args.build, "bench", "score_sampling", "score_sampling_bench")
    assim = os.path.join(args.build, "apps", "assim", "assim")
    ints = lambda text: [int(v) for v in text.split(",")]
    print(f"threads {args.threads}; SOAD and SDA: one window of {args.steps} steps, no Langevin moves, "
          f"2 layers, U-Net [16, 32, 64], 2 blocks, kernel 3; LETKF: radius 4, every point observed, "
          f"{args.cycles} cycles")

    # The LETKF file is checked before the first timing, not after the samplers' minutes.
    subprocess.run([assim, "validate", os.path.join(HERE, "letkf_cost.yaml")], check=True, capture_output=True)

    if "samplers" in parts:
        sampler_tables(bench, args, ints)
    if "letkf" in parts:
        letkf_tables(assim, args, ints)


def sampler_tables(bench, args, ints):
    grids = ints(args.grids)
    by_grid = [sampler_seconds(bench, args.threads, args.steps, g, 9, 1) for g in grids]
    table("Grid size n (n x n, 1 member, window 9)", "n", grids,
          {"SOAD": [t["soad"] for t in by_grid], "SDA": [t["sda"] for t in by_grid]})

    members = ints(args.members)
    by_members = [sampler_seconds(bench, args.threads, args.steps, 32, 9, m) for m in members]
    table("Members (32 x 32, window 9)", "members", members,
          {"SOAD": [t["soad"] for t in by_members], "SDA": [t["sda"] for t in by_members]})

    windows = ints(args.windows)
    by_window = [sampler_seconds(bench, args.threads, args.steps, 32, w, 1) for w in windows]
    table("Window length L (32 x 32, 1 member)", "L", windows,
          {"SOAD": [t["soad"] for t in by_window], "SDA": [t["sda"] for t in by_window]})


def letkf_tables(assim, args, ints):
    with tempfile.TemporaryDirectory() as work:
        letkf_grids = ints(args.letkf_grids)
        table("LETKF analysis, grid size n (n x n x 2, 20 members)", "n", letkf_grids,
              {"LETKF": [letkf_seconds(assim, args.threads, args.cycles, n, 20, work) for n in letkf_grids]})
        letkf_members = ints(args.letkf_members)
        table("LETKF analysis, members (64 x 64 x 2)", "members", letkf_members,
              {"LETKF": [letkf_seconds(assim, args.threads, args.cycles, 64, m, work) for m in letkf_members]})


if __name__ == "__main__":
    main()
