# Sourced by end-to-end scripts: `values FILE VARIABLE` prints the numbers of
# one NetCDF variable, one per line (ncdump's text, so NaN prints as NaN).
values() {
  ncdump -v "$2" "$1" | awk -v name=" $2 =" 'index($0, name) == 1 { on = 1 } on { print } on && /;/ { exit }' |
    sed "s/^ $2 =//; s/;//" | tr ',' '\n' | sed '/^ *$/d'
}
