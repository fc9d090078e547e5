#!/usr/bin/env bash
# Builds the hosted page into dist/ with Trunk (release wasm). Prints the wasm size raw and gzip.
# CRASHLENS_WASM_OPT=1 also runs binaryen's wasm-opt -Oz (off by default: Debian's binaryen 108
# produces a module whose externref table cannot grow, "WebAssembly.Table.grow(): failed to grow
# table"; binaryen 132 (npm) works and gives 2.85 MB -> 2.11 MB raw, 968 KB -> 795 KB gzip with
# -O1, but the analysis in Chromium measured 15-40 % slower with -O1/-O2/-Os, so it stays off).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"
wasm_env
say "trunk build --release (wasm32 via $WASM_ROUTE)"
trunk build --release
WASM=dist/crashlens_bg.wasm
[ -s "$WASM" ] || die "trunk produced no $WASM"
if command -v wasm-opt >/dev/null 2>&1 && [ "${CRASHLENS_WASM_OPT:-0}" = 1 ]; then
  # Only the features rustc's wasm32 target emits by default (Chromium, Firefox and Safari have them all).
  if wasm-opt -Oz --strip-debug --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
      --enable-mutable-globals --enable-reference-types --enable-multivalue "$WASM" -o "$WASM.opt" 2>/tmp/crashlens-wasm-opt.log; then
    mv "$WASM.opt" "$WASM"
  else
    rm -f "$WASM.opt"; say "wasm-opt failed (kept the unoptimised wasm): $(head -1 /tmp/crashlens-wasm-opt.log)"
  fi
fi
say "single-file build and <crash-lens> element"
node scripts/pack-web.mjs dist dist-single
raw=$(stat -c %s "$WASM"); gz=$(gzip -9 -c "$WASM" | wc -c)
say "dist/ ready: wasm $raw bytes raw, $gz bytes gzip"
