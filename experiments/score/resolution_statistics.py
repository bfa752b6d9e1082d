#!/usr/bin/python3
"""The QG field's statistics at several resolutions (issue 34).

usage: resolution_statistics.py DATA.nc [FACTORS] [FIGURE.svg]

Reads the snapshots q(sample, time, layer, y, x) of a generate stage's data.nc,
block-averages them by each factor of FACTORS (default 1,2,4,8,16; the block
mean that generate's `coarsen` applies), normalises each layer by its mean and
std over everything (as the training data are), and prints per resolution:
the grid spacing, the correlation between neighbouring grid points (along x
and y, averaged) per layer, the wavelength at the peak of the isotropic power
spectrum in km and in grid points, and the share of the variance at
wavelengths shorter than 4 grid spacings. FIGURE.svg (optional) draws the
spectra, each normalised to unit variance, against the wavelength in km.

Needs Debian's python3-numpy and python3-scipy and nccopy (netcdf-bin): the
NetCDF-4 file is copied to the classic format that scipy reads.
"""
import subprocess
import sys
import tempfile

import numpy as np
from scipy.io import netcdf_file


def read(path):
    with tempfile.NamedTemporaryFile(suffix=".nc") as classic:
        subprocess.run(["nccopy", "-k", "classic", path, classic.name], check=True)
        f = netcdf_file(classic.name, "r", mmap=False)
        q = np.array(f.variables["q"][:], dtype=np.float64)
        spacing = float(f.variables["x"].spacing)
        f.close()
    return q.reshape((-1,) + q.shape[-3:]), spacing  # (snapshot, layer, y, x), m


def coarsen(q, factor):
    s, c, ny, nx = q.shape
    return q.reshape(s, c, ny // factor, factor, nx // factor, factor).mean(axis=(3, 5))


def statistics(q, spacing):
    z = (q - q.mean(axis=(0, 2, 3), keepdims=True)) / q.std(axis=(0, 2, 3), keepdims=True)
    neighbour = 0.5 * ((z * np.roll(z, 1, axis=-1)).mean(axis=(0, 2, 3)) +
                       (z * np.roll(z, 1, axis=-2)).mean(axis=(0, 2, 3)))
    n = z.shape[-1]
    power = (np.abs(np.fft.fft2(z, axes=(-2, -1))) ** 2).mean(axis=(0, 1))
    k = np.fft.fftfreq(n) * n
    shell = np.rint(np.hypot(k[:, None], k[None, :])).astype(int)
    spectrum = np.bincount(shell.ravel(), power.ravel())[1:n // 2 + 1]
    spectrum /= spectrum.sum()
    wavenumbers = np.arange(1, n // 2 + 1)  # cycles per domain
    peak = wavenumbers[np.argmax(spectrum)]
    short = spectrum[wavenumbers > n / 4].sum()  # wavelengths below 4 grid spacings
    return neighbour, n / peak, short, wavenumbers, spectrum  # the peak as a wavelength in grid points


def figure(path, curves, domain):
    width, height, left, bottom = 640, 420, 70, 50
    xs = [np.log10(domain / w / 1e3) for _, w, _ in curves]
    ys = [np.log10(np.maximum(s, 1e-12)) for _, _, s in curves]
    x0, x1 = min(x.min() for x in xs), max(x.max() for x in xs)
    y0, y1 = max(min(y.min() for y in ys), -8.0), max(y.max() for y in ys)
    px = lambda x: left + (x1 - x) / (x1 - x0) * (width - left - 20)  # long waves on the left
    py = lambda y: height - bottom - (y - y0) / (y1 - y0) * (height - bottom - 20)
    colours = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02"]
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" '
           'font-size="12">', f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<line x1="{left}" y1="{height - bottom}" x2="{width - 20}" y2="{height - bottom}" stroke="black"/>',
           f'<line x1="{left}" y1="20" x2="{left}" y2="{height - bottom}" stroke="black"/>']
    for e in range(int(np.ceil(x0)), int(np.floor(x1)) + 1):
        out.append(f'<text x="{px(e):.1f}" y="{height - bottom + 16}" text-anchor="middle">{10 ** e:g}</text>')
    for e in range(int(np.ceil(y0)), int(np.floor(y1)) + 1):
        out.append(f'<text x="{left - 6}" y="{py(e) + 4:.1f}" text-anchor="end">1e{e}</text>')
    out.append(f'<text x="{(left + width) / 2}" y="{height - 12}" text-anchor="middle">wavelength (km)</text>')
    out.append(f'<text x="16" y="{height / 2}" transform="rotate(-90 16 {height / 2})" text-anchor="middle">'
               'share of the variance per wavenumber</text>')
    for i, ((label, _, _), x, y) in enumerate(zip(curves, xs, ys)):
        keep = y >= y0
        points = " ".join(f"{px(a):.1f},{py(b):.1f}" for a, b in zip(x[keep], y[keep]))
        colour = colours[i % len(colours)]
        out.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="1.5"/>')
        out.append(f'<text x="{width - 30}" y="{34 + 16 * i}" text-anchor="end" fill="{colour}">{label}</text>')
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    q, spacing = read(sys.argv[1])
    factors = [int(f) for f in (sys.argv[2] if len(sys.argv) > 2 else "1,2,4,8,16").split(",")]
    n = q.shape[-1]
    domain = n * spacing
    print(f"{sys.argv[1]}: {q.shape[0]} snapshots of {q.shape[1]} layers on {n} x {n}, domain {domain / 1e3:g} km")
    print("| grid | spacing (km) | neighbour correlation, upper / lower layer | peak wavelength (km) "
          "| peak wavelength (grid points) | variance below 4 spacings |")
    print("|---|---|---|---|---|---|")
    curves = []
    for factor in factors:
        if n % factor:
            sys.exit(f"factor {factor} does not divide {n}")
        m = n // factor
        neighbour, peak, short, wavenumbers, spectrum = statistics(coarsen(q, factor), spacing * factor)
        print(f"| {m} x {m} | {spacing * factor / 1e3:.1f} | {neighbour[0]:.3f} / {neighbour[1]:.3f} | "
              f"{peak * spacing * factor / 1e3:.0f} | {peak:.1f} | {short:.3f} |")
        curves.append((f"{m} x {m}", wavenumbers, spectrum))
    if len(sys.argv) > 3:
        figure(sys.argv[3], curves, domain)
        print(f"figure: {sys.argv[3]}")


if __name__ == "__main__":
    main()
