#!/usr/bin/env bash
# Fuzz smoke (scripts/test.sh runs it): every cargo-fuzz target of fuzz/ (containers) and
# fuzz-kernel/ (kernel-layer parsers) for a short fixed time each, from its corpus (fuzz*/corpus/,
# grown by earlier runs; fuzz-kernel/make_seeds.py writes the kernel seeds when absent) plus the
# recorded regression inputs. A finding (crash, overflow with debug assertions, timeout, OOM)
# fails the run and leaves the input in fuzz*/artifacts/TARGET/.
#   scripts/fuzz-smoke.sh [SECONDS]     (default $CRASHLENS_FUZZ_SECONDS, else 20)
# Needs a nightly toolchain (`cargo +nightly`) and cargo-fuzz (scripts/setup.sh installs cargo-fuzz
# when nightly is there). Without them it prints one `fuzz smoke: SKIPPED (...)` line and exits 0.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"
secs="${1:-${CRASHLENS_FUZZ_SECONDS:-20}}"
# One target dir for both fuzz crates (their dependencies are built once, with the same flags),
# outside the clone so that a later run on the same machine only rebuilds the crate.
tdir="${CRASHLENS_FUZZ_TARGET:-$HOME/.cache/crashlens/fuzz-target}"
mkdir -p "$tdir"

skip() { say "fuzz smoke: SKIPPED ($*)"; echo "fuzz smoke: SKIPPED ($*)" >"${CRASHLENS_FUZZ_SUMMARY:-/dev/null}"; exit 0; }
cargo +nightly --version >/dev/null 2>&1 || skip "no nightly toolchain: rustup toolchain install nightly"
cargo +nightly fuzz --version >/dev/null 2>&1 || skip "no cargo-fuzz: cargo install cargo-fuzz --locked"

maxlen() {
  case "$1" in
    diskdump | elf | flattened) echo 262144 ;;
    oops) echo 65536 ;;
    printk | btf) echo 16384 ;;
    *) echo 8192 ;;
  esac
}

[ -d fuzz-kernel/corpus ] || python3 fuzz-kernel/make_seeds.py >/dev/null
t0=$SECONDS
n=0
failed=()
execs=0
for dir in fuzz fuzz-kernel; do
  targets="$(cargo +nightly fuzz list --fuzz-dir "$dir" 2>/dev/null)" || {
    failed+=("$dir:list")
    continue
  }
  say "fuzz smoke: building $dir (release, debug assertions, ASan)"
  if ! nice -n 10 cargo +nightly fuzz build --fuzz-dir "$dir" --target-dir "$tdir" -O --debug-assertions >"$dir/fuzz-build.log" 2>&1; then
    tail -20 "$dir/fuzz-build.log" >&2
    failed+=("$dir:build")
    continue
  fi
  for t in $targets; do
    corpus="$dir/corpus/$t"
    mkdir -p "$corpus" "$dir/artifacts/$t"
    seeds=()
    [ -d "$dir/regressions/$t" ] && seeds+=("$dir/regressions/$t")
    # the container fuzzers' recorded finding (crate/tests/data/fuzz-*.bin) seeds them too
    [ "$dir" = fuzz ] && seeds+=(crate/tests/data)
    log="$dir/fuzz-$t.log"
    nice -n 10 cargo +nightly fuzz run --fuzz-dir "$dir" --target-dir "$tdir" -O --debug-assertions "$t" "$corpus" "${seeds[@]}" -- \
      -max_total_time="$secs" -max_len="$(maxlen "$t")" -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix="$dir/artifacts/$t/" -print_final_stats=1 >"$log" 2>&1
    rc=$?
    e="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
    execs=$((execs + ${e:-0}))
    n=$((n + 1))
    if [ $rc -ne 0 ]; then
      failed+=("$dir/$t")
      say "fuzz smoke: $dir/$t FAILED (exit $rc): $(grep -m1 -E 'ERROR|panicked|SUMMARY' "$log") — input in $dir/artifacts/$t/, log $log"
    else
      say "fuzz smoke: $dir/$t ok, ${e:-?} executions in ${secs}s, corpus $(ls "$corpus" | wc -l)"
    fi
  done
done
line="fuzz smoke: $n targets x ${secs}s, $execs executions, $((SECONDS - t0))s with builds, ${#failed[@]} failed${failed:+: ${failed[*]}}"
echo "$line" >"${CRASHLENS_FUZZ_SUMMARY:-/dev/null}"
say "$line"
[ ${#failed[@]} -eq 0 ]
