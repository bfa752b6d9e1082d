"""Checks that a C++ component and its Python twin gave the same bits.

usage: same_bits.py RUNS WHAT CPP_STAGE:PY_STAGE:FILE:VAR,VAR ...
Each pair of stages (under the run folder RUNS) must hold equal arrays (NaN
equal to NaN) for every variable named; WHAT ("operator", "model") names the
twin in the messages. Exits 1 on the first run of differences, after listing
them all."""
import sys

import netCDF4
import numpy as np


def variables(path, names):
    with netCDF4.Dataset(path) as f:
        return {k: np.asarray(f[k][:]) for k in names}


def main(runs, what, pairs):
    fail = False
    for pair in pairs:
        cpp_stage, py_stage, file, names = pair.split(":")
        names = names.split(",")
        a = variables(f"{runs}/{cpp_stage}/{file}", names)
        b = variables(f"{runs}/{py_stage}/{file}", names)
        differ = [k for k in names if not np.array_equal(a[k], b[k], equal_nan=True)]
        for k in differ:
            print(f"FAIL: {cpp_stage} and {py_stage}: {k} differs with the Python {what} "
                  f"(max {np.max(np.abs(a[k] - b[k]))})")
        fail = fail or bool(differ)
        if "rmse" in names and not differ:
            print(f"{py_stage}: mean RMSE {float(np.mean(b['rmse'])):.6f} with the Python {what}, "
                  f"the same bits as C++'s, {b['mean'].shape}")
    return 1 if fail else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], sys.argv[3:]))
