#!/usr/bin/env bash
# THE test command (README, CI): installs what is missing, then runs every test suite:
#   1. the dump lab (tests/lab/run.sh), when the project has it: makes the lab's real dumps
#   2. cargo test --workspace (unit + integration tests on the real fixtures)
#   3. the web build (Trunk) and the headless-Chromium tests against it (tests/browser/)
# Fixtures: CRASHLENS_FIXTURES or ../shared/fixtures; tests that need an absent one skip with a note.
# CRASHLENS_SKIP_LAB=1 skips step 1.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"
bash scripts/setup.sh

if [ -f tests/lab/run.sh ] && [ "${CRASHLENS_SKIP_LAB:-0}" != 1 ]; then
  say "dump lab: tests/lab/run.sh"
  bash tests/lab/run.sh
fi

if elf="$(fixture_elf linux-6.1-cloud-null)"; then
  say "fixture: $elf"
else
  say "note: fixtures not found at $(fixtures_dir); the tests that need them will skip"
fi

if cargo fmt --version >/dev/null 2>&1; then
  say "cargo fmt --check (rustfmt defaults)"
  cargo fmt --all -- --check >/dev/null || die "the Rust code is not formatted: run cargo fmt --all"
fi

say "cargo test --workspace"
cargo test --workspace
cargo build --bin crashlens   # the browser tests compare the page with the CLI

bash scripts/build-web.sh

say "browser tests (headless Chromium)"
node tests/browser/run.mjs
say "all tests passed"
