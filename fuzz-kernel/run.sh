#!/bin/sh
# Runs the fuzz targets one after another, one job each, niced: run.sh SECONDS [TARGET...]
# (from the repository root; cargo-fuzz needs nightly flags: RUSTC_BOOTSTRAP=1 on stable).
set -u
secs=${1:-600}; shift
targets=${*:-"vmcoreinfo btf oops orc printk"}
cd "$(dirname "$0")/.." || exit 1
[ -d fuzz-kernel/corpus ] || python3 fuzz-kernel/make_seeds.py
for t in $targets; do
  case $t in oops) len=65536 ;; printk|btf) len=16384 ;; *) len=8192 ;; esac
  mkdir -p fuzz-kernel/corpus/$t fuzz-kernel/artifacts/$t
  RUSTC_BOOTSTRAP=1 nice -n 10 cargo fuzz run --fuzz-dir fuzz-kernel -O --debug-assertions "$t" \
    fuzz-kernel/corpus/$t -- -max_total_time="$secs" -max_len=$len -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix=fuzz-kernel/artifacts/$t/ -print_final_stats=1 > fuzz-kernel/fuzz-$t.log 2>&1
  echo "$t exit $?: $(grep -E '^stat::number_of_executed_units' fuzz-kernel/fuzz-$t.log)"
done
