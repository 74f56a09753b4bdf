#!/usr/bin/env bash
# arm64 for real, without an arm64 machine: cross-builds the three addons for linux-arm64 (Debian's
# g++-aarch64-linux-gnu against the arm64 -dev packages of scripts/arm64-sysroot.sh, through prebuildify as
# the release does), checks that they are aarch64 ELF, and runs their unit tests (pixel conversions against
# the reference, MJPEG decode, FFT against a DFT, ALSA capture through the file plugin) under qemu-user with
# Debian's nodejs:arm64 — in-process: `node --test` would spawn an arm64 child that only qemu can run.
# Needs the TypeScript build (dist/) of source-video. Nothing arm64 is installed machine-wide. About 35 s
# warm (the sysroot is cached, prebuilds are rebuilt when their sources changed), plus a ~25 MB download
# the first time.
#   bash scripts/test-arm64.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SYSROOT=$(bash scripts/arm64-sysroot.sh)
bash scripts/prebuild.sh arm64

status=0
for f in packages/{source-video,source-audio,sinks}/native/prebuilds/linux-arm64/node.napi.node; do
  if file -b "$f" | grep -q 'ELF 64-bit LSB shared object, ARM aarch64'; then echo "test-arm64: $f: aarch64 ELF"
  else echo "test-arm64: $f is not an aarch64 ELF: $(file -b "$f")" >&2; status=1; fi
done

fixtures=$(mktemp -d "${TMPDIR:-/tmp}/sf-arm64.XXXXXX")
trap 'rm -rf "$fixtures"' EXIT
ff() { ffmpeg -v error -y "$@"; }
ff -f lavfi -i testsrc2=size=320x240 -frames:v 1 "$fixtures/mjpeg.jpg"
# swscale's accurate path: the chroma interpolation libjpeg-turbo also does (as in convert.test.ts).
ff -i "$fixtures/mjpeg.jpg" -f rawvideo -pix_fmt rgb24 -sws_flags accurate_rnd+full_chroma_int "$fixtures/mjpeg.rgb"
ff -i "$fixtures/mjpeg.jpg" -f rawvideo -pix_fmt gray "$fixtures/mjpeg.gray"

# -L: the arm64 loader, libraries and /usr/share/alsa come from the sysroot. PREBUILDS_ONLY: node-gyp-build
# must not pick the host's own x64 build in native/build/Release.
env PREBUILDS_ONLY=1 SF_ARM64_FIXTURES="$fixtures" \
  ALSA_CONFIG_PATH="/usr/share/alsa/alsa.conf:$ROOT/tools/fixtures/alsa/senseflow.conf" \
  qemu-aarch64 -L "$SYSROOT" "$SYSROOT/usr/bin/node" --test-reporter=spec scripts/arm64/native-tests.mjs || status=1
[ "$(node -p process.arch)" = x64 ] || { echo "test-arm64: the host's node changed" >&2; status=1; }
exit $status
