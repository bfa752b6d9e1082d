#!/usr/bin/env bash
# The report of a small experiment, looked at in a real browser
# (report_page.sh: images drawn as stated, no clipped plot text, no page
# wider than the window, no nan, no path of the machine, provenance once
# each, tables in boxes that scroll). Then the PNGs themselves are checked:
# every <img> is a PNG of the stated size, and each colour bar's range is the data's (its end
# colours are the colours of the fields' extreme values, and its range agrees
# with ncdump's). Two experiments: report.yaml, a 2-D QG state with a
# heatmap, and report_line.yaml, a 1-D Lorenz-96 state drawn as lines.
set -u
assim=$1 case=$2
name=$(sed -n 's/^name: *//p' "$case")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
source "$(dirname "$0")/report_page.sh"
"$assim" run "$case" --output "$work/runs" > "$work/log" 2>&1 || { cat "$work/log"; echo "FAIL: run"; exit 1; }
page=$work/runs/$name/report/report
shots=${REPORT_SCREENSHOT_DIR:-$work}
# No path of the machine on the page: results are named relative to the run
# folder, the experiment, plugins and host by their file names.
repo=$(cd "$(dirname "$case")/../.." && pwd) build=$(cd "$(dirname "$assim")/../.." && pwd)
report_page_check "$page" "$shots/report.png" "$work" "$repo" "$build" || exit 1
heatmaps=$(report_page_heatmaps "$page")
case $name in
  report)
    # Two observation designs per method: a heatmap whose rows name the mask
    # designs and whose title the setting.
    [ "$heatmaps" -ge 1 ] || { echo "FAIL: no heatmap of two designs"; exit 1; }
    for label in '>random 0.5<' '>random 0.25<' 'obs.arctan, sampler.enkf letkf, with background'; do
      grep -q -- "$label" "$page/index.html" || { echo "FAIL: the heatmap lacks '$label'"; exit 1; }
    done
    # The evaluation of a QG grid has its spectra drawn, and their table a row per run.
    for label in '<h2>Spectra</h2>' '<td>enkf_dense</td><td>mean</td>' '<td>enkf_sparse</td><td>mean</td>'; do
      grep -qF -- "$label" "$page/index.html" || { echo "FAIL: the spectra lack '$label'"; exit 1; }
    done
    runs=enkf_dense ;;
  report_line)
    # One observation design per method: no heatmap of a single cell.
    [ "$heatmaps" = 0 ] || { echo "FAIL: $heatmaps heatmap(s) of a single design"; exit 1; }
    # Lines per frame of each run, with the observations; 4D-Var (one member) without a spread.
    for run in by_4dvar by_letkf; do
      for t in 0 1 2 3 4; do
        grep -q ">$run, frame $t<" "$page/index.html" || { echo "FAIL: no line plot of $run, frame $t"; exit 1; }
      done
    done
    [ "$(grep -o '>observations<' "$page/index.html" | wc -l)" = 10 ] \
      || { echo "FAIL: not every frame shows the observations"; exit 1; }
    ! grep -q 'by_4dvar_w1_s0_spread' "$page/index.html" || { echo "FAIL: one-member 4D-Var draws a spread"; exit 1; }
    runs="by_4dvar by_letkf" ;;
  *) echo "FAIL: no checks for experiment '$name'"; exit 1 ;;
esac
for run in $runs; do
  for v in truth mean; do
    ncdump -p 9,17 -v $v "$work/runs/$name/$run/assimilation.nc" | sed -n "/^ $v =/,/;/p" | tr -d ' ;' \
      | sed "s/^$v=//" | tr ',' '\n' | grep -v '^$' > "$work/${run}_$v.txt"
  done
done
python3 - "$page" "$shots/report.png" "$work" "$name" <<'PY' || exit 1
import json, re, struct, sys, zlib
page, shot, work, name = sys.argv[1:]

def png(path):
    """(width, height, rows of (r, g, b, a)) of an 8-bit RGB or RGBA PNG."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", path + " is not a PNG"
    pos, idat = 8, b""
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, colour = struct.unpack(">IIBB", body[:10])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    assert depth == 8 and colour in (2, 6), path + ": not 8-bit RGB(A)"
    bpp = 3 if colour == 2 else 4
    raw, stride, rows, prev = zlib.decompress(idat), w * bpp, [], bytearray(w * bpp)
    for y in range(h):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if f == 1: line[i] = (line[i] + a) & 255
            elif f == 2: line[i] = (line[i] + b) & 255
            elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append([tuple(line[x * bpp:x * bpp + 3]) + ((line[x * bpp + 3],) if bpp == 4 else (255,)) for x in range(w)])
        prev = line
    return w, h, rows

fail = []
html = open(page + "/index.html").read()
tags = re.findall(r'<img[^>]*src="([^"]+)" width="(\d+)" height="(\d+)"', html)
assert len(tags) == html.count("<img"), "an <img> without src, width and height"
for src, w, h in tags:
    try:
        size = png(page + "/" + src)[:2]
        if size != (int(w), int(h)): fail.append(f"{src} is {size}, the page says {w} x {h}")
    except (OSError, AssertionError) as e:
        fail.append(f"{src}: {e}")
index = json.load(open(page + "/report.json"))
assert {i["src"] for i in index["images"]} == {t[0] for t in tags}, "report.json and the page list other images"

def hexrgb(h): return tuple(int(h[i:i + 2], 16) for i in (1, 3, 5))
colours = {}
for bar in index["bars"]:
    _, h, rows = png(page + "/" + bar["src"])
    top, bottom = rows[0][0][:3], rows[-1][0][:3]
    if top != hexrgb(bar["hi_colour"]) or bottom != hexrgb(bar["lo_colour"]):
        fail.append(f"{bar['src']}: ends {top} {bottom} are not the map's ends")
    seen = set()
    for image in index["images"]:
        if image.get("bar") == bar["src"]:
            seen |= {p[:3] for row in png(page + "/" + image["src"])[2] for p in row if p[3] == 255}
    lo, hi, dmin, dmax = bar["lo"], bar["hi"], bar["data_min"], bar["data_max"]
    if bar["map"] == "cool-warm":
        m = max(abs(dmin), abs(dmax))
        ok = abs(hi - m) <= 1e-12 * m and lo == -hi
        # The value of largest magnitude sits on one end of a symmetric bar.
        ends = [top if dmax >= -dmin else bottom]
    else:
        ok = lo == dmin and hi == dmax
        ends = [top, bottom]
    if not ok: fail.append(f"{bar['src']}: range {lo}..{hi} does not fit the data {dmin}..{dmax}")
    missing = [e for e in ends if e not in seen]
    if missing: fail.append(f"{bar['src']}: end colour(s) {missing} drawn in none of its {bar['label']} images")
    for value, css in ((hi, "hi"), (lo, "lo")):
        if f'<span class="{css}">{value:.3g}</span>' not in html: fail.append(f"{bar['src']}: the page does not show {value:.3g}")

def read(run, v): return [float(x) for x in open(f"{work}/{run}_{v}.txt")]
if name == "report":
    # The truth-and-mean bar of layer 0 of window 1, against ncdump's numbers.
    # (window 2, [seed 1,] time 5, layer 2, 32, 32)
    truth, mean = read("enkf_dense", "truth"), read("enkf_dense", "mean")
    plane, values = 32 * 32, []
    for t in range(5):
        start = ((1 * 5 + t) * 2 + 0) * plane
        values += truth[start:start + plane] + mean[start:start + plane]
    bar = next(b for b in index["bars"] if b["src"] == "enkf_dense_w1_s0_state_l0_bar.png")
    if abs(bar["data_min"] - min(values)) > 1e-12 or abs(bar["data_max"] - max(values)) > 1e-12:
        fail.append(f"truth/mean range {bar['data_min']}..{bar['data_max']}, ncdump says {min(values)}..{max(values)}")
    errors = [i for i in index["images"] if "_error_" in i["src"] and "bar" in i]
else:
    # The errors of window 1 of both runs, (window 2, [seed 1,] time 5, 40 sites), on the one bar they share.
    values = []
    for run in ("by_4dvar", "by_letkf"):
        truth, mean = read(run, "truth"), read(run, "mean")
        values += [m - t for m, t in zip(mean[200:400], truth[200:400])]
    errors = [i for i in index["images"] if i["src"].endswith("_error.png")]
    if len(errors) != 2: fail.append(f"{len(errors)} error pictures, not one per run")
    bar = next((b for b in index["bars"] if errors and b["src"] == errors[0]["bar"]), None)
    if bar is None: fail.append("no error bar")
    elif abs(bar["data_min"] - min(values)) > 1e-9 or abs(bar["data_max"] - max(values)) > 1e-9:
        fail.append(f"error range {bar['data_min']}..{bar['data_max']}, ncdump says {min(values)}..{max(values)}")
# One error scale for every run on the page (per layer): the error images of
# two runs name the same bars.
by_run = {}
for i in errors: by_run.setdefault(i["src"].split("_w1_")[0], set()).add(i["bar"])
if len(by_run) < 2 or len({frozenset(b) for b in by_run.values()}) != 1:
    fail.append(f"the runs' error images do not share their bars: {by_run}")

w, h, _ = png(shot)
if (w, h) != (1400, 3000): fail.append(f"screenshot is {w} x {h}")
for f in fail: print("FAIL:", f)
print(f"{len(tags)} images, {len(index['bars'])} colour bars checked")
sys.exit(1 if fail else 0)
PY
echo "report rendered in Chromium; images present with the stated sizes; colour bars span the data"
