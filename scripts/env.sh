# Shared by the scripts: paths, logging, and the wasm32 toolchain route. Source it, don't run it.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$HOME/.cargo/bin:$PATH"
say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
# Run as root directly, otherwise through sudo (apt-get needs it).
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# The wasm32 route. A normal machine has rustup's wasm32-unknown-unknown target. Where that
# cannot be downloaded, Debian's rustc-web/cargo-web/rust-web-src build std for wasm32 from
# source (nightly-only -Zbuild-std, unlocked with RUSTC_BOOTSTRAP) and lld's wasm-ld links.
# CRASHLENS_WASM_ROUTE=debian forces the second route (to test it where rustup has the target).
wasm_env() {
  if [ "${CRASHLENS_WASM_ROUTE:-auto}" != debian ] && command -v rustup >/dev/null 2>&1 && rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
    WASM_ROUTE="rustup target wasm32-unknown-unknown"
  else
    [ -x /usr/bin/rustc ] && [ -d /usr/lib/rustlib/src/rust/library ] && command -v wasm-ld >/dev/null 2>&1 ||
      die "no wasm32 toolchain: run scripts/setup.sh (needs the rustup wasm32 target, or Debian's rustc-web cargo-web rust-web-src lld)"
    export PATH="/usr/bin:$PATH"
    export RUSTC_BOOTSTRAP=1
    export CARGO_UNSTABLE_BUILD_STD=std,panic_abort
    export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=wasm-ld
    WASM_ROUTE="Debian rustc-web $(/usr/bin/rustc --version | cut -d' ' -f2) with build-std"
  fi
  export WASM_ROUTE
}

# Where the real fixtures live, and the decompressed ELF of the 6.1 dump (made if absent).
fixtures_dir() { echo "${CRASHLENS_FIXTURES:-$ROOT/../shared/fixtures}"; }
fixture_elf() {
  local name="$1" cache="${XDG_CACHE_HOME:-$HOME/.cache}/crashlens"
  local elf="$cache/$name.elf" zst
  zst="$(fixtures_dir)/$name/vmcore.elf.zst"
  if [ ! -s "$elf" ] && [ -f "$zst" ]; then
    mkdir -p "$cache"
    zstd -q -d -f "$zst" -o "$elf.tmp" && mv "$elf.tmp" "$elf"
  fi
  [ -s "$elf" ] && echo "$elf"
}
