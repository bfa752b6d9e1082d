"""pyqg's time step beside model.qg's, measured in one run on one thread.

pyqg is not part of assim: build it from its own source (its setup.py with
Debian's cython3, python3-numpy and python3-pyfftw) anywhere outside this
repository and name that folder in PYQG_PATH, or have it importable. For each
grid size the rounds alternate between pyqg (in this process) and
qg_step_bench (one member, --members 1), so that a change in the machine's
load hits both; each keeps its best round. pyqg plans its FFTs with
FFTW_MEASURE through pyfftw; qg_step_bench plans as it is told (the arguments
after --, for example --wisdom FILE).

    PYQG_PATH=/path/to/pyqg-source /usr/bin/python3 bench/qg/compare_pyqg.py \\
        build/bench/qg/qg_step_bench [--sizes 64,128,256,512] [--rounds 3] [--seconds 1] [-- --wisdom FILE]
"""
import argparse
import os
import re
import subprocess
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
if os.environ.get("PYQG_PATH"):
    sys.path.insert(0, os.environ["PYQG_PATH"])
try:
    import pyqg
except ImportError:
    sys.exit("compare_pyqg: pyqg is not importable; build it from its source and set PYQG_PATH (see this file's doc)")


def time_step(nx):
    # The same stable time steps as qg_step_bench (the cost does not depend on dt).
    return 7200.0 if nx <= 64 else 3600.0 if nx <= 128 else 1800.0 if nx <= 256 else 900.0


def pyqg_ms(model, seconds):
    """Best of 5 blocks of seconds / 5: milliseconds per _step_forward, the
    work of one step of pyqg's run loop (inversion, advection, friction,
    AB3 with the filter, status check)."""
    best = float("inf")
    for _ in range(5):
        calls, begin = 0, time.perf_counter()
        while True:
            model._step_forward()
            calls += 1
            elapsed = time.perf_counter() - begin
            if elapsed >= seconds / 5:
                break
        best = min(best, elapsed / calls)
    return best * 1e3


def ours_ms(bench, nx, seconds, extra):
    out = subprocess.run([bench, "--members", "1", "--seconds", str(seconds), *extra, str(nx)],
                         check=True, capture_output=True, text=True).stdout
    for line in out.splitlines():
        fields = line.split()
        if len(fields) == 7 and fields[0] == str(nx):
            return float(fields[3]), float(fields[5]), out.splitlines()[0]
    sys.exit("compare_pyqg: no result line for nx %d in\n%s" % (nx, out))


def main():
    argv = sys.argv[1:]
    extra = []
    if "--" in argv:
        extra = argv[argv.index("--") + 1:]
        argv = argv[:argv.index("--")]
    parser = argparse.ArgumentParser()
    parser.add_argument("bench")
    parser.add_argument("--sizes", default="64,128,256,512")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=1.0)
    args = parser.parse_args(argv)

    header = None
    rows = []
    for nx in [int(s) for s in args.sizes.split(",")]:
        model = pyqg.QGModel(nx=nx, dt=time_step(nx), ntd=1, tmax=1e12, twrite=10**9, log_level=0)
        for _ in range(10):
            model._step_forward()  # past pyqg's Euler and AB2 start
        theirs, ours, floor = float("inf"), float("inf"), float("inf")
        for _ in range(args.rounds):
            theirs = min(theirs, pyqg_ms(model, args.seconds))
            step, fft_floor, header = ours_ms(args.bench, nx, args.seconds, extra)
            ours, floor = min(ours, step), min(floor, fft_floor)
        rows.append((nx, theirs, ours, floor))

    print("pyqg %s (%s), one thread, best of %d alternating rounds" % (getattr(pyqg, "__version__", "from source"), os.path.dirname(pyqg.__file__), args.rounds))
    print("qg_step_bench: " + header)
    print("| nx | pyqg ms/step | model.qg ms/step | model.qg faster by | 10-FFT floor ms | step / floor |")
    print("|---|---|---|---|---|---|")
    for nx, theirs, ours, floor in rows:
        print("| %d | %.4f | %.4f | %.2fx | %.4f | %.2f |" % (nx, theirs, ours, theirs / ours, floor, ours / floor))


if __name__ == "__main__":
    main()
