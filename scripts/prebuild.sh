#!/usr/bin/env bash
# Builds the prebuilt addons that the packages ship: prebuildify (Node-API, stripped) for linux-x64 and,
# with Debian's cross toolchain and the arm64 sysroot of scripts/arm64-sysroot.sh, for linux-arm64.
# Output: packages/<pkg>/native/prebuilds/linux-<arch>/node.napi.node, where node-gyp-build finds them
# (`npm pack`/`pnpm pack` include them). Each build runs in a scratch copy of native/, so the addon that
# the monorepo itself loads (native/build/Release) stays the host's own build.
# A prebuild newer than every source file of its addon is kept (SENSEFLOW_PREBUILD_FORCE=1 rebuilds).
#   bash scripts/prebuild.sh [x64] [arm64]     (default: both)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
arches=("${@:-x64 arm64}")
arches=(${arches[*]})
ADDONS=(packages/source-video packages/source-audio packages/sinks)
export npm_config_nodedir=${npm_config_nodedir:-$(dirname "$(dirname "$(command -v node)")")}
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/sf-prebuild.XXXXXX")
trap 'rm -rf "$SCRATCH"' EXIT

for arch in "${arches[@]}"; do
  env=()
  case $arch in
    x64) ;;
    arm64)
      SYSROOT=$(bash scripts/arm64-sysroot.sh)
      lib="$SYSROOT/usr/lib/aarch64-linux-gnu"
      env=(CC=aarch64-linux-gnu-gcc CXX=aarch64-linux-gnu-g++ LINK=aarch64-linux-gnu-g++ AR=aarch64-linux-gnu-ar
        "CPPFLAGS=-I$SYSROOT/usr/include -I$SYSROOT/usr/include/aarch64-linux-gnu"
        "LDFLAGS=-L$lib -Wl,-rpath-link,$lib:$SYSROOT/lib/aarch64-linux-gnu")
      ;;
    *) echo "prebuild: unknown arch '$arch' (x64, arm64)" >&2; exit 2 ;;
  esac
  for pkg in "${ADDONS[@]}"; do
    out="$pkg/native/prebuilds/linux-$arch/node.napi.node"
    if [ -z "${SENSEFLOW_PREBUILD_FORCE:-}" ] && [ -e "$out" ] &&
      [ -z "$(find "$pkg/native" packages/core/native -maxdepth 1 -type f -newer "$out" \( -name '*.cc' -o -name '*.h' -o -name binding.gyp \))" ]; then
      echo "prebuild: ${pkg##*/} linux-$arch is up to date" >&2
      continue
    fi
    work="$SCRATCH/$arch/${pkg##*/}"
    mkdir -p "$work"
    cp "$pkg"/native/binding.gyp "$pkg"/native/*.cc "$work"/
    cp "$pkg"/native/*.h "$work"/ 2>/dev/null || true
    echo "prebuild: ${pkg##*/} linux-$arch" >&2
    # NODE_PATH: binding.gyp asks node for node-addon-api's include dir from the scratch directory.
    (cd "$work" && env "${env[@]}" NODE_PATH="$ROOT/$pkg/node_modules" \
      "$ROOT/$pkg/node_modules/.bin/prebuildify" --napi --strip --arch "$arch" --target "$(node -p process.versions.node)" \
      --strip-bin "$([ "$arch" = arm64 ] && echo aarch64-linux-gnu-strip || echo strip)" --quiet \
      --node-gyp "$ROOT/$pkg/node_modules/.bin/node-gyp")
    rm -rf "$pkg/native/prebuilds/linux-$arch"
    mkdir -p "$pkg/native/prebuilds"
    # prebuildify names a Node-API build node.node; the napi tag makes node-gyp-build check N-API support.
    mkdir -p "$pkg/native/prebuilds/linux-$arch"
    cp "$work/prebuilds/linux-$arch/node.node" "$pkg/native/prebuilds/linux-$arch/node.napi.node"
    file -b "$pkg"/native/prebuilds/linux-"$arch"/*.node | sed "s|^|prebuild:   $pkg linux-$arch: |" >&2
  done
done
