#!/bin/sh
# crashlens dump lab: real vmcores from Debian kernels crashed under QEMU/TCG.
#   tests/lab/run.sh [--list] [--force] [--fast | --all] [SCENARIO ...]
#   tests/lab/run.sh --matrix [--force]   every scenario, then crashlens checked on each: rewrites
#                                         tests/lab/MATRIX.md (tests/lab/matrix.py)
# Installs what is missing (Debian/apt), then runs lab.py (see README.md).  Output:
#   ${CRASHLENS_LAB_CACHE:-~/.cache/crashlens/lab}/<scenario>/
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
need=""
command -v qemu-system-x86_64 >/dev/null || need="$need qemu-system-x86"
command -v makedumpfile >/dev/null || need="$need makedumpfile"
# the initramfs needs a statically linked busybox
{ [ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1; } || need="$need busybox-static"
command -v gcc >/dev/null || need="$need gcc libc6-dev"
command -v make >/dev/null || need="$need make"
command -v cpio >/dev/null || need="$need cpio"
command -v xz >/dev/null || need="$need xz-utils"
command -v readelf >/dev/null || need="$need binutils"
command -v python3 >/dev/null || need="$need python3"
command -v dpkg-deb >/dev/null || need="$need dpkg"
if [ -n "$need" ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  echo "[lab] installing:$need" >&2
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q $need >&2 || {
    $SUDO apt-get update -q >&2; $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q $need >&2; }
fi
matrix=0
for a in "$@"; do [ "$a" = --matrix ] && matrix=1; done
# the old kernels (built from source, kdumped) when the prebuilt ones are there
OLDK=${CRASHLENS_OLD_KERNELS:-$HERE/../../../shared/kernels}
old() { if [ -d "$OLDK/3.10.0-514.el7" ]; then CRASHLENS_OLD_KERNELS=$OLDK python3 "$HERE/oldkernels.py" "$@"; else
  echo "[lab] old kernels not found at $OLDK (CRASHLENS_OLD_KERNELS): their scenarios skipped" >&2; fi; }
fast=0
for a in "$@"; do [ "$a" = --fast ] && fast=1; done
if [ $matrix = 0 ]; then
  rc=0
  python3 "$HERE/lab.py" "$@" || rc=1
  if [ $fast = 1 ]; then old --fast || rc=1; fi
  exit $rc
fi
args=""
for a in "$@"; do [ "$a" = --matrix ] || args="$args $a"; done
rc=0
# shellcheck disable=SC2086 # args are flags without spaces
python3 "$HERE/lab.py" --all $args || rc=1   # a failed scenario has no row; the others still do
# shellcheck disable=SC2086
old --all $args || rc=1
(cd "$HERE/../.." && cargo build --bin crashlens >&2)
python3 "$HERE/matrix.py" "$HERE/../../target/debug/crashlens" -o "$HERE/MATRIX.md" || rc=1
exit $rc
