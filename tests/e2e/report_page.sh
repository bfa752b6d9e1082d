# Sourced by the tests that look at a report page in a real browser
# (report.sh, report_pages.sh): `report_page_check PAGE_FOLDER SCREENSHOT
# FOLDER...` loads PAGE_FOLDER/index.html in headless Chromium, takes a
# 1400 x 3000 screenshot, and has a probe report the images the browser could
# not draw as the page states them, the plot texts that stick out of their
# SVG (clipped), and how much wider than the window the page is; then checks
# the page's text: every table in a box that scrolls sideways, no "nan", "-nan"
# or "inf" for an absent number (it is "-"), none of the FOLDERs (the
# machine's paths) named, and each stage's record once in the provenance.
# Prints what fails and returns non-zero. Needs $work, a scratch folder.
# `report_page_heatmaps PAGE_FOLDER` prints how many heatmaps the page draws,
# `report_page_column PAGE_FOLDER HEADER` the cells of a table's column.

report_page_browser=$(command -v chromium || command -v chromium-browser) || report_page_browser=

report_page_chrome() {
  "$report_page_browser" --headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking \
    --disable-component-update --disable-sync --user-data-dir="$(mktemp -d -p "$work")" "$@" 2> "$work/chromium.err"
}

report_page_check() {
  local page=$1 shot=$2
  shift 2
  [ -n "$report_page_browser" ] \
    || { echo "FAIL: chromium is not installed (scripts/setup installs it); the report must be seen in a browser"; return 1; }
  [ -f "$page/index.html" ] || { echo "FAIL: no $page/index.html"; return 1; }
  report_page_chrome --screenshot="$shot" --window-size=1400,3000 "file://$page/index.html" > /dev/null
  [ -s "$shot" ] || { cat "$work/chromium.err"; echo "FAIL: no screenshot"; return 1; }
  # A copy of the page with the probe, which writes what it finds into the title once everything has loaded.
  sed 's|</body>|<script>addEventListener("load", () => { const bad = [...document.images].filter(i => !i.complete \|\| i.naturalWidth === 0 \|\| i.naturalWidth != i.getAttribute("width") \|\| i.naturalHeight != i.getAttribute("height")).map(i => i.getAttribute("src")); const clipped = [...document.querySelectorAll("svg text")].filter(t => { const b = t.getBBox(), m = t.getCTM(), s = t.ownerSVGElement; const x = [b.x * m.a + b.y * m.c + m.e, (b.x + b.width) * m.a + (b.y + b.height) * m.c + m.e], y = [b.x * m.b + b.y * m.d + m.f, (b.x + b.width) * m.b + (b.y + b.height) * m.d + m.f]; return Math.min(...x) < -1 \|\| Math.min(...y) < -1 \|\| Math.max(...x) > s.width.baseVal.value + 1 \|\| Math.max(...y) > s.height.baseVal.value + 1; }).map(t => t.textContent.replace(/ /g, "_")); const over = document.documentElement.scrollWidth - document.documentElement.clientWidth; document.title = "probe " + document.images.length + " images, bad: [" + bad.join(" ") + "], clipped: [" + clipped.join(" ") + "], overflow: " + over + " px"; });</script></body>|' \
    "$page/index.html" > "$page/probe.html"
  report_page_chrome --dump-dom --virtual-time-budget=5000 --window-size=1400,3000 "file://$page/probe.html" > "$work/dom.html"
  rm -f "$page/probe.html"
  local title
  title=$(grep -o '<title>probe [^<]*</title>' "$work/dom.html")
  echo "browser: $title"
  case "$title" in
    *"bad: []"*) ;;
    *) echo "FAIL: the browser did not draw every image as stated: ${title:-no probe result}"; return 1 ;;
  esac
  case "$title" in
    *"clipped: []"*) ;;
    *) echo "FAIL: plot texts stick out of their SVG (clipped): ${title:-no probe result}"; return 1 ;;
  esac
  case "$title" in
    *"overflow: 0 px"*) ;;
    *) echo "FAIL: the page is wider than the window: ${title:-no probe result}"; return 1 ;;
  esac
  local tables boxed dir dups
  tables=$(grep -o '<table' "$page/index.html" | wc -l)
  boxed=$(grep -o '<div class="scroll"><table' "$page/index.html" | wc -l)
  [ "$tables" = "$boxed" ] || { echo "FAIL: $((tables - boxed)) of $tables tables outside a scrolling box"; return 1; }
  if grep -Eiwo -- '-?(nan|inf)' "$page/index.html" | sort | uniq -c | grep .; then
    echo "FAIL: the page prints nan or inf for an absent number"; return 1
  fi
  for dir in "$@"; do
    ! grep -qF -- "$dir/" "$page/index.html" || { echo "FAIL: the page names the machine's path $dir/"; return 1; }
  done
  dups=$(sed -n '/<h2>Configuration and provenance/,/<h2>/p' "$page/index.html" | grep -o '<summary>[^<]*</summary>' \
    | sort | uniq -d)
  [ -z "$dups" ] || { echo "FAIL: provenance lists twice: $dups"; return 1; }
  grep -q '<h2>Configuration and provenance' "$page/index.html" || { echo "FAIL: the page has no provenance"; return 1; }
}

report_page_heatmaps() { grep -o '<svg class="heatmap"' "$1/index.html" | wc -l; }

# `report_page_column PAGE_FOLDER HEADER` prints, one a line, the cells of the
# column headed HEADER in the first table that has one.
report_page_column() {
  /usr/bin/python3 - "$1/index.html" "$2" <<'PY'
import re, sys
html, header = open(sys.argv[1]).read(), sys.argv[2]
for table in re.findall(r"<table.*?</table>", html, re.S):
    heads = [re.sub(r"<[^>]+>", "", h) for h in re.findall(r"<th[^>]*>(.*?)</th>", table, re.S)]
    if header not in heads: continue
    column = heads.index(header)
    for row in re.findall(r"<tr>(.*?)</tr>", table, re.S):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        if len(cells) == len(heads): print(re.sub(r"<[^>]+>", "", cells[column]))
    break
PY
}
