#!/usr/bin/env bash
# CLI benchmark: wall time and peak memory of `crashlens report` (and `info`) per dump, median of
# N runs after one warm-up, with GNU time; then the in-browser benchmark (tests/browser/bench.mjs:
# drop to first part, to verdict, to whole report, peak wasm memory) when dist/ is built. Usage:
#   scripts/bench.sh [DUMP ...]        (default: the shared fixtures' ELF and every lab container)
#   RUNS=5 scripts/bench.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"
RUNS=${RUNS:-5}
command -v /usr/bin/time >/dev/null || { apt-get install -y -q time >/dev/null || { apt-get update -q && apt-get install -y -q time; }; }
cargo build --release --bin crashlens >&2
B="$ROOT/target/release/crashlens"
dumps=("$@")
if [ ${#dumps[@]} -eq 0 ]; then
  for n in linux-6.1-cloud-null linux-6.12-cloud-bug; do
    if e="$(fixture_elf "$n")"; then dumps+=("$e"); fi
  done
  lab="${CRASHLENS_LAB_CACHE:-$HOME/.cache/crashlens/lab}"
  for f in "$lab"/ref-nginx/vmcore.{elf,d31-zlib.kdump,d31-lzo.kdump,d31-zlib.flat,qemu-kdump-zlib} "$lab"/big-4g/vmcore.{elf,d31-zlib.kdump,d0-zlib.kdump}; do
    [ -f "$f" ] && dumps+=("$f")
  done
fi
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
printf '%-58s %10s %8s %10s %10s\n' dump size_MB command wall_s peak_MB
for d in "${dumps[@]}"; do
  size=$(( $(stat -c %s "$d") / 1048576 ))
  for cmd in report info; do
    "$B" "$cmd" "$d" --format json >/dev/null 2>&1 || true   # warm-up (page cache of the OS)
    walls=(); mems=()
    for _ in $(seq "$RUNS"); do
      out=$( { /usr/bin/time -f '%e %M' "$B" "$cmd" "$d" --format json >/dev/null 2>/dev/null; } 2>&1 | tail -1)
      walls+=("${out% *}"); mems+=("${out#* }")
    done
    w=$(printf '%s\n' "${walls[@]}" | median); m=$(printf '%s\n' "${mems[@]}" | median)
    printf '%-58s %10s %8s %10s %10s\n' "${d: -58}" "$size" "$cmd" "$w" "$((m / 1024))"
  done
done
if [ -f dist/index.html ] && [ -d tests/browser/node_modules/playwright-core ]; then
  say "in-browser benchmark (headless Chromium, dist/)"
  RUNS=$RUNS node tests/browser/bench.mjs "$@"
else
  say "in-browser benchmark skipped: build dist/ with scripts/build-web.sh (and scripts/setup.sh for Chromium)"
fi
