#!/usr/bin/env bash
# Installs what building and testing crashlens needs, and only what is missing:
# the wasm32 toolchain (rustup target, else Debian's rustc-web route), wasm-bindgen-cli 0.2.100,
# trunk 0.21, Chromium, binaryen, zstd, Node.js + npm, playwright-core for the browser tests, and
# cargo-fuzz where a nightly toolchain is installed (the fuzz smoke).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
export DEBIAN_FRONTEND=noninteractive

command -v cargo >/dev/null 2>&1 || die "cargo is missing: install Rust from https://rustup.rs first"

APT_WANT=()
need_pkg() { dpkg -s "$1" >/dev/null 2>&1 || APT_WANT+=("$1"); }

# wasm32: rustup's target if it can be had, else Debian's web toolchain.
if ! { command -v rustup >/dev/null 2>&1 && rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; }; then
  if command -v rustup >/dev/null 2>&1 && timeout 300 rustup target add wasm32-unknown-unknown >/dev/null 2>&1; then
    say "installed rustup target wasm32-unknown-unknown"
  else
    for p in rustc-web cargo-web rust-web-src lld; do need_pkg "$p"; done
  fi
fi
# fonts-wqy-microhei: a CJK font, so that the Chinese page renders in headless screenshots.
for p in chromium binaryen zstd fonts-wqy-microhei; do need_pkg "$p"; done
command -v node >/dev/null 2>&1 || need_pkg nodejs
command -v npm >/dev/null 2>&1 || need_pkg npm

if [ ${#APT_WANT[@]} -gt 0 ]; then
  say "apt-get install ${APT_WANT[*]}"
  as_root apt-get update -qq
  as_root apt-get install -y -qq --no-install-recommends "${APT_WANT[@]}" >/dev/null
fi
# Debian names lld's wasm linker wasm-ld-<N>; make sure plain wasm-ld exists.
if ! command -v wasm-ld >/dev/null 2>&1; then
  w="$(ls /usr/bin/wasm-ld-* /usr/lib/llvm-*/bin/wasm-ld 2>/dev/null | sort -V | tail -1 || true)"
  [ -n "$w" ] && as_root ln -sf "$w" /usr/local/bin/wasm-ld
fi

if [ "$(wasm-bindgen --version 2>/dev/null | cut -d' ' -f2)" != "0.2.100" ]; then
  say "cargo install wasm-bindgen-cli 0.2.100"
  cargo install wasm-bindgen-cli --version 0.2.100
fi
case "$(trunk --version 2>/dev/null | cut -d' ' -f2)" in
  0.21.*) ;;
  *) say "cargo install trunk 0.21 (a few minutes)"; cargo install trunk --version '~0.21' --locked ;;
esac

# The fuzz smoke (scripts/fuzz-smoke.sh) needs cargo-fuzz; it is only useful with a nightly toolchain.
if cargo +nightly --version >/dev/null 2>&1 && ! cargo fuzz --version >/dev/null 2>&1 &&
  [ "${CRASHLENS_SKIP_FUZZ:-0}" != 1 ]; then
  say "cargo install cargo-fuzz (for the fuzz smoke, ~3 min)"
  cargo install cargo-fuzz --locked || say "cargo-fuzz could not be installed: the fuzz smoke will skip"
fi

if [ ! -d "$ROOT/tests/browser/node_modules/playwright-core" ]; then
  say "npm install (tests/browser: playwright-core)"
  (cd "$ROOT/tests/browser" && npm ci --no-audit --no-fund --loglevel=error)
fi
say "setup complete"
