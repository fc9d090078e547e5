#!/usr/bin/env bash
# THE test command (README, CI): installs what is missing, then runs every test suite:
#   1. the dump lab (tests/lab/run.sh): makes the lab's real dumps. Default (fast tier): the lab's
#      FAST scenarios, one per capability (tests/lab/lab.py); --full: the lab's whole default set
#      (every crash kind, the 4 GiB dump, ...). The kernel matrix is tests/lab/run.sh --matrix.
#   2. cargo test --workspace (unit + integration tests on the real fixtures and the lab's dumps)
#   3. the fuzz smoke (scripts/fuzz-smoke.sh): every cargo-fuzz target for CRASHLENS_FUZZ_SECONDS
#      (20) each, where a nightly toolchain and cargo-fuzz are available (else one SKIPPED line)
#   4. the web build (Trunk) and the headless-Chromium tests against it (tests/browser/)
# Fixtures: CRASHLENS_FIXTURES or ../shared/fixtures; a test that needs an absent fixture or lab
# dump prints one `crashlens-test-skip:` line, and the last lines here count the skips.
# CRASHLENS_SKIP_LAB=1 skips step 1, CRASHLENS_SKIP_FUZZ=1 step 3.
#   scripts/test.sh [--full]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"
tier=fast
for a in "$@"; do
  case "$a" in
    --full) tier=full ;;
    -h | --help) sed -n '2,14p' "$0"; exit 0 ;;
    *) die "unknown argument $a (scripts/test.sh [--full])" ;;
  esac
done
T0=$SECONDS
timing=()
step() { timing+=("$1 $(($SECONDS - $2))s"); }
bash scripts/setup.sh

if [ -f tests/lab/run.sh ] && [ "${CRASHLENS_SKIP_LAB:-0}" != 1 ]; then
  t=$SECONDS
  if [ $tier = fast ]; then
    say "dump lab, fast tier: tests/lab/run.sh --fast"
    bash tests/lab/run.sh --fast
  else
    say "dump lab, full tier: tests/lab/run.sh"
    bash tests/lab/run.sh
  fi
  step "lab($tier)" $t
fi

if elf="$(fixture_elf linux-6.1-cloud-null)"; then
  say "fixture: $elf"
else
  say "note: fixtures not found at $(fixtures_dir); tests fall back on the lab's dumps where it has an equivalent, the others skip"
fi

if cargo fmt --version >/dev/null 2>&1; then
  say "cargo fmt --check (rustfmt defaults)"
  cargo fmt --all -- --check >/dev/null || die "the Rust code is not formatted: run cargo fmt --all"
fi

say "cargo test --workspace"
t=$SECONDS
skiplog="$(mktemp)"
cargolog="$(mktemp)"
browserlog="$(mktemp)"
fuzzsum="$(mktemp)"
trap 'rm -f "$skiplog" "$cargolog" "$browserlog" "$fuzzsum"' EXIT
CRASHLENS_SKIP_LOG="$skiplog" cargo test --workspace 2>&1 | tee "$cargolog"
step "cargo-test" $t
cargo build --bin crashlens # the browser tests compare the page with the CLI

if [ "${CRASHLENS_SKIP_FUZZ:-0}" != 1 ]; then
  t=$SECONDS
  CRASHLENS_FUZZ_SUMMARY="$fuzzsum" bash scripts/fuzz-smoke.sh
  step "fuzz" $t
else
  echo "fuzz smoke: SKIPPED (CRASHLENS_SKIP_FUZZ=1)" >"$fuzzsum"
fi

t=$SECONDS
bash scripts/build-web.sh
step "web-build" $t

say "browser tests (headless Chromium)"
t=$SECONDS
node tests/browser/run.mjs 2>&1 | tee "$browserlog"
step "browser" $t

# The counts: cargo's own totals, the tests that printed a skip line, the browser suite's summary.
ran="$(awk '/^test result:/ {n += $4} END {print n + 0}' "$cargolog")"
skipped="$(sed -n 's/^crashlens-test-skip: \([^:]*\):.*/\1/p' "$skiplog" | sort -u)"
nskip="$(printf '%s' "$skipped" | grep -c . || true)"
say "all tests passed ($tier tier, $((SECONDS - T0))s: ${timing[*]})"
echo "cargo tests: $ran passed, of which $nskip skipped (wholly or in part; fixture or lab dump absent)${skipped:+: $(echo $skipped)}"
echo "browser tests: $(tail -1 "$browserlog")"
cat "$fuzzsum"
