#!/bin/bash
# Rebuilds the lab's old kernels (CentOS 7's 3.10.0-514.el7, 4.9.337, 4.19.222) from public source
# trees, the way ../shared/kernels/RECIPE.md says, into the layout tests/lab/oldkernels.py reads
# (bzImage, System.map, config, Module.symvers, build-kit.tar.zst per version). Not run by CI: the
# test run uses the prebuilt kernels as they are. 7-23 min per kernel on 2 cores.
#
#   tests/lab/rebuild-old-kernels.sh [VERSION ...]     (default: all three)
#
# Environment:
#   OUT=DIR            where the kernels go (default ~/.cache/crashlens/oldkernels-rebuilt);
#                      then run the lab on them with CRASHLENS_OLD_KERNELS=DIR tests/lab/oldkernels.py
#   WORK=DIR           sources and build trees (default ~/.cache/crashlens/oldkernels-work)
#   RECIPE_DIR=DIR     the recipe's folder: patches/ and <version>/config (default ../shared/kernels)
#   SRC_3_10=DIR, SRC_4_9=DIR, SRC_4_19=DIR
#                      an existing checkout (or bare mirror) of the tree instead of cloning GitHub
#   JOBS=N             make -j (default 3, as the recipe)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-$HOME/.cache/crashlens/oldkernels-rebuilt}
WORK=${WORK:-$HOME/.cache/crashlens/oldkernels-work}
RECIPE_DIR=${RECIPE_DIR:-$(cd "$HERE/../../.." && pwd)/shared/kernels}
JOBS=${JOBS:-3}
say() { echo "[rebuild] $*" >&2; }

# version -> GitHub repository, commit (RECIPE.md), gcc major, CC string, patch
declare -A REPO COMMIT GCC CCX PATCH
REPO[3.10.0-514.el7]=Shun-Hao/linux-3.10.0-514.el7
COMMIT[3.10.0-514.el7]=3b214f030a87eafa5deb9536988355ca72106106
GCC[3.10.0-514.el7]=9; CCX[3.10.0-514.el7]="-fno-pie -std=gnu89"; PATCH[3.10.0-514.el7]=linux-3.10.0-514.el7.patch
REPO[4.9.337]=eugene-rom/linux-4.9.337-sbc2440v4
COMMIT[4.9.337]=bcbb043ad48bdc93f62ae44fb8a6a5f90843c9ad
GCC[4.9.337]=9; CCX[4.9.337]=""; PATCH[4.9.337]=""
REPO[4.19.222]=zhaozhi0810/linux-4.19.222-gec210
COMMIT[4.19.222]=40c53f3e783253fcd84ca2d7d95e0acc85e11102
GCC[4.19.222]=10; CCX[4.19.222]=""; PATCH[4.19.222]=linux-4.19.222.patch

src_override() {
  case $1 in 3.10.*) echo "${SRC_3_10:-}";; 4.9.*) echo "${SRC_4_9:-}";; 4.19.*) echo "${SRC_4_19:-}";; esac
}

# The tree at the recipe's commit, in $WORK/src/<version> (a plain checkout, patched once).
checkout() {
  local v=$1 s=$WORK/src/$1 from
  if [ -f "$s/.crashlens-patched" ]; then return; fi
  rm -rf "$s"; mkdir -p "$s"
  from=$(src_override "$v")
  [ -n "$from" ] || from=https://github.com/${REPO[$v]}
  say "$v: source ${REPO[$v]} @ ${COMMIT[$v]} from $from"
  git -C "$s" init -q
  git -C "$s" fetch -q --depth 1 "$from" "${COMMIT[$v]}" 2>/dev/null ||
    git -C "$s" fetch -q "$from"                     # a mirror without uploadpack.allowReachableSHA1InWant
  git -C "$s" -c advice.detachedHead=false checkout -q "${COMMIT[$v]}"
  if [ -n "${PATCH[$v]}" ]; then
    say "$v: patch ${PATCH[$v]}"
    patch -s -p1 -d "$s" < "$RECIPE_DIR/patches/${PATCH[$v]}"
  fi
  touch "$s/.crashlens-patched"
}

# Debian bullseye's gcc-N unpacked (not installed), as the lab does for module builds.
gcc_bin() {
  (cd "$HERE" && python3 -c "import oldkernels; print(oldkernels.gcc('$1'))")
}

build() {
  local v=$1 s=$WORK/src/$1 b=$WORK/build/$1 o=$OUT/$1 gb cc t0
  t0=$(date +%s)
  checkout "$v"
  gb=$(gcc_bin "${GCC[$v]}")
  cc="gcc-${GCC[$v]}${CCX[$v]:+ ${CCX[$v]}}"
  export PATH="$gb:$PATH"
  mkdir -p "$b" "$o"
  # the exact configuration the prebuilt kernel was made with (RECIPE.md: copy, then olddefconfig)
  cp "$RECIPE_DIR/$v/config" "$b/.config"
  local M=(make -C "$s" O="$b" CC="$cc" HOSTCC="gcc-${GCC[$v]}")
  case $v in 4.*) M+=(ARCH=x86_64);; esac
  say "$v: olddefconfig, then bzImage modules -j$JOBS (CC=$cc)"
  "${M[@]}" olddefconfig >/dev/null
  "${M[@]}" -j"$JOBS" bzImage modules > "$WORK/build-$v.log" 2>&1 ||
    { tail -30 "$WORK/build-$v.log" >&2; exit 1; }
  "${M[@]}" modules_prepare >> "$WORK/build-$v.log" 2>&1
  cp "$b/arch/x86/boot/bzImage" "$b/System.map" "$b/Module.symvers" "$o/"
  cp "$b/.config" "$o/config"
  kit "$v" "$s" "$b" "$o"
  say "$v: done in $(( $(date +%s) - t0 )) s -> $o"
}

# build-kit.tar.zst: src/ (the source subset out-of-tree modules need) + build/ (the O= subset,
# its Makefile pointing at ../src), as RECIPE.md describes it.
kit() {
  local v=$1 s=$2 b=$3 o=$4 k
  k=$(mktemp -d)
  mkdir -p "$k/src" "$k/build"
  (cd "$s" && cp -a --parents Makefile include arch/x86/include scripts "$k/src/" &&
     cp -a --parents arch/x86/Makefile* "$k/src/" && { [ ! -f Kbuild ] || cp -a Kbuild "$k/src/"; })
  (cd "$b" && cp -a --parents .config Makefile Module.symvers include arch/x86/include scripts "$k/build/" &&
     { [ ! -x tools/objtool/objtool ] || cp -a --parents tools/objtool/objtool "$k/build/"; })
  ln -sfn ../src "$k/build/source"
  # the generated Makefile names the absolute source tree: point it at the kit's own src/
  sed -i "s|^MAKEARGS := -C .*|MAKEARGS := -C \$(abspath \$(makedir)../src)|" "$k/build/Makefile"
  cat > "$k/README" <<EOF
Build kit for out-of-tree modules against Linux $v (x86_64), made by tests/lab/rebuild-old-kernels.sh.
  src/   : source-tree subset (Makefile, include/, arch/x86/include/, arch/x86/Makefile*, scripts/)
  build/ : O= build dir subset (.config, Makefile, Module.symvers, include/, arch/x86/include/, scripts/)
Use the same compiler as the kernel (gcc-${GCC[$v]}${CCX[$v]:+ ${CCX[$v]}}):
  make -C \$KIT/src O=\$KIT/build M=\$PWD CC="gcc-${GCC[$v]}${CCX[$v]:+ ${CCX[$v]}}" modules
EOF
  tar -C "$k" -c . | zstd -q -19 -T0 -o "$o/build-kit.tar.zst" -f
  rm -rf "$k"
}

command -v zstd >/dev/null || { echo "needs zstd (apt-get install zstd)" >&2; exit 1; }
[ -d "$RECIPE_DIR/patches" ] || { echo "RECIPE_DIR=$RECIPE_DIR has no patches/ (set RECIPE_DIR)" >&2; exit 1; }
vs=("$@")
[ ${#vs[@]} -gt 0 ] || vs=(3.10.0-514.el7 4.9.337 4.19.222)
for v in "${vs[@]}"; do
  [ -n "${REPO[$v]:-}" ] || { echo "unknown version $v (known: ${!REPO[*]})" >&2; exit 1; }
  build "$v"
done
