#!/usr/bin/env bash
# Benchmark, in one run on this machine (figures for the closing notes; nothing is asserted):
# - `crashlens report --format json` on the 6.1 fixture against drgn's crashed-thread stack trace
#   on the same dump, runs alternated: medians over RUNS runs (after one warm-up each) of wall
#   time, CPU time (user + sys) and peak RSS (GNU time), and the bytes the report read from the
#   file (its page cache's counters, JSON `dump.cache`);
# - the same report on the lab's big-4g dumps and the seed machine (32 vCPUs, 128 GiB), when built;
# - in headless Chromium (tests/browser/bench.mjs on dist/): drop -> first part, drop -> verdict,
#   whole report, peak wasm memory, on the fixture, big-4g and the seed machine; the wasm's size.
# drgn comes from PyPI into a venv under ~/.cache/crashlens/bench, its vmlinux from the Debian -dbg
# package as tests/lab/kernels.py fetches it with LAB_DBG=1 (a ~280 MB download, cached); when
# either cannot be had the table says so. One Markdown table to stdout and to $BENCH_OUT.
#   scripts/bench.sh            RUNS=5 BENCH_OUT=target/bench.md by default
#   NO_BROWSER=1 scripts/bench.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"
RUNS=${RUNS:-5}
OUT=${BENCH_OUT:-$ROOT/target/bench.md}
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/crashlens"
LAB="${CRASHLENS_LAB_CACHE:-$CACHE/lab}"
BENCH="$CACHE/bench"
mkdir -p "$BENCH" "$(dirname "$OUT")"
command -v /usr/bin/time >/dev/null || { apt-get install -y -q time >/dev/null || { apt-get update -q && apt-get install -y -q time; }; }
cargo build --release --bin crashlens >&2
B="$ROOT/target/release/crashlens"
FIX="$(fixtures_dir)/linux-6.1-cloud-null"
ELF="$(fixture_elf linux-6.1-cloud-null)" || die "6.1 fixture not found in $(fixtures_dir)"

# drgn and its vmlinux (the release the dump's VMCOREINFO names).
DRGN="" DRGN_WHY=""
if [ ! -x "$BENCH/venv/bin/drgn" ]; then
  say "drgn from PyPI into $BENCH/venv"
  { python3 -m venv "$BENCH/venv" && "$BENCH/venv/bin/pip" install -q drgn; } >&2 || DRGN_WHY="pip install drgn failed"
fi
REL=$(grep -o '^OSRELEASE=.*' "$FIX/oracle/vmcoreinfo.txt" | cut -d= -f2)
VMLINUX="$LAB/_kernels/$REL/usr/lib/debug/boot/vmlinux-$REL"
if [ -z "$DRGN_WHY" ] && [ ! -s "$VMLINUX" ]; then
  say "vmlinux-$REL from linux-image-$REL-dbg (tests/lab/kernels.py, LAB_DBG=1)"
  (cd tests/lab && CRASHLENS_LAB_CACHE="$LAB" LAB_DBG=1 python3 -c "import kernels, sys; kernels.ensure(sys.argv[1])" "$REL") >&2 ||
    DRGN_WHY="linux-image-$REL-dbg could not be fetched"
  [ -s "$VMLINUX" ] || DRGN_WHY=${DRGN_WHY:-"no vmlinux-$REL in the -dbg package"}
fi
[ -z "$DRGN_WHY" ] && DRGN="$BENCH/venv/bin/drgn"

median() { sort -n | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print "-"}'; }
# One timed run: appends "wall cpu rss_kib" to file $1.
timed() {
  local f="$1"; shift
  /usr/bin/time -o "$f.one" -f '%e %U %S %M' "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; return 1; }
  awk '{printf "%s %.2f %s\n", $1, $2 + $3, $4}' "$f.one" >>"$f"
}
col() { awk -v c="$2" '{print $c}' "$1" | median; }
mib() { awk -v b="$1" 'BEGIN {printf "%.1f", b / 1048576}'; }
bytes_read() { "$B" report "$1" --format json 2>/dev/null | python3 -c 'import json,sys; c=json.load(sys.stdin)["dump"].get("cache") or {}; print(c.get("bytes_read", ""))'; }

T="$BENCH/times.$$"; rm -f "$T".*
trap 'rm -f "$T".*' EXIT
rows=()
row() { rows+=("| $1 | $2 | $3 | $4 | $5 | $6 |"); }

# The fixture: crashlens and drgn alternated.
say "fixture: crashlens report and drgn, $RUNS runs alternated"
"$B" report "$ELF" --format json >/dev/null 2>&1
drgn_cmd=("$DRGN" -q -c "$ELF" --no-default-symbols -s "$VMLINUX" -s "$FIX/vmcore_fixture.ko"
  -e 'print(prog.crashed_thread().stack_trace())')
[ -n "$DRGN" ] && "${drgn_cmd[@]}" >/dev/null 2>&1
for _ in $(seq "$RUNS"); do
  timed "$T.cl" "$B" report "$ELF" --format json
  [ -n "$DRGN" ] && timed "$T.drgn" "${drgn_cmd[@]}"
done
cw=$(col "$T.cl" 1)
row "crashlens report --format json" "6.1 fixture ELF ($(mib "$(stat -c %s "$ELF")") MiB)" "$cw" "$(col "$T.cl" 2)" \
  "$(mib $(( $(col "$T.cl" 3) * 1024 )))" "$(mib "$(bytes_read "$ELF")")"
if [ -n "$DRGN" ]; then
  dw=$(col "$T.drgn" 1)
  row "drgn $("$BENCH/venv/bin/python" -c 'import drgn; print(drgn.__version__)') crashed_thread().stack_trace()" \
    "same dump + vmlinux ($(mib "$(stat -c %s "$VMLINUX")") MiB)" "$dw" "$(col "$T.drgn" 2)" "$(mib $(( $(col "$T.drgn" 3) * 1024 )))" "-"
  row "crashlens wall / drgn wall" "" "$(awk -v a="$cw" -v b="$dw" 'BEGIN {printf "%.2f", a / b}')" "" "" ""
else
  row "drgn crashed-thread trace" "unavailable: $DRGN_WHY" "-" "-" "-" "-"
fi

# The large dumps (report only).
for d in "$LAB"/big-4g/vmcore.{elf,d31-zlib.kdump} "$LAB"/seed-machine/vmcore.{d31-zlib.kdump,d31-lzo.kdump,qemu-kdump-zlib}; do
  [ -f "$d" ] || continue
  say "report on ${d#"$LAB"/}"
  "$B" report "$d" --format json >/dev/null 2>&1 || true
  rm -f "$T.big"
  for _ in $(seq "$RUNS"); do timed "$T.big" "$B" report "$d" --format json || true; done
  [ -s "$T.big" ] || { row "crashlens report --format json" "lab ${d#"$LAB"/}" "failed" "" "" ""; continue; }
  note=""; case "$d" in *qemu-kdump-zlib) note=" (flattened: index pass over the file)";; esac
  row "crashlens report --format json" "lab ${d#"$LAB"/} ($(mib "$(stat -c %s "$d")") MiB)" "$(col "$T.big" 1)" "$(col "$T.big" 2)" \
    "$(mib $(( $(col "$T.big" 3) * 1024 )))" "$(mib "$(bytes_read "$d")")$note"
done

{
  echo "crashlens benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), median of $RUNS runs"
  echo
  echo "| what | dump | wall (s) | CPU user+sys (s) | peak RSS (MiB) | bytes read (MiB) |"
  echo "|---|---|---:|---:|---:|---:|"
  printf '%s\n' "${rows[@]}"
} | tee "$OUT"

# In the browser.
if [ -n "${NO_BROWSER:-}" ]; then
  exit 0
fi
if [ ! -f dist/index.html ] || [ ! -d tests/browser/node_modules/playwright-core ]; then
  msg="in-browser benchmark skipped: build dist/ with scripts/build-web.sh (and scripts/setup.sh for Chromium)"
  say "$msg"; printf '\n%s\n' "$msg" >>"$OUT"
  exit 0
fi
say "in-browser benchmark (headless Chromium, dist/)"
bdumps=("$ELF")
for d in "$LAB"/big-4g/vmcore.elf "$LAB"/seed-machine/vmcore.{d31-zlib.kdump,qemu-kdump-zlib}; do
  [ -f "$d" ] && bdumps+=("$d")
done
gz=$(gzip -9 -c dist/crashlens_bg.wasm | wc -c)
{
  echo
  echo "In headless Chromium ($(/usr/bin/chromium --version 2>/dev/null | head -1)), wasm $(stat -c %s dist/crashlens_bg.wasm) bytes, $gz bytes gzip:"
  echo
  RUNS=$RUNS node tests/browser/bench.mjs "${bdumps[@]}"
} | tee -a "$OUT"
say "written to $OUT"
