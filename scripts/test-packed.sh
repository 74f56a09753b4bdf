#!/usr/bin/env bash
# senseflow as a user's own project gets it: every package packed (`pnpm pack`, with the linux-x64 and
# linux-arm64 prebuilt addons of scripts/prebuild.sh), checked by publint and @arethetypeswrong/cli, and
# installed with plain npm into a fresh temp project WITH NO COMPILER ON PATH (so an addon that needed
# building would fail the install). There: no addon was built (no native/build/), every addon loads,
# an example runs, and `npx senseflow demo --test` records. Needs the TypeScript build (pnpm build).
#   bash scripts/test-packed.sh [--keep]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PKGS=(core source-video source-audio source-sysstats sinks net nats cli)
T=$(mktemp -d "${TMPDIR:-/tmp}/sf-packed.XXXXXX")
[ "${1:-}" = --keep ] && echo "test-packed: keeping $T" || trap 'rm -rf "$T"' EXIT
step() { echo "== test-packed: $*"; }

step "pack (scripts/pack.sh), publint, attw"
bash scripts/pack.sh "$T/tarballs" >/dev/null
for p in "${PKGS[@]}"; do
  tgz=$(ls "$T"/tarballs/senseflow-"$p"-*.tgz)
  tar -tzf "$tgz" >"$T/$p.files"
  # A packed addon package ships its sources (compile fallback) and both prebuilds, not the local build;
  # core ships the headers those sources include (native/*.h: the sample-ring writer, the worker mailbox).
  for h in packages/"$p"/native/*.h; do
    [ "$p" = core ] && [ -e "$h" ] && { grep -qx "package/native/${h##*/}" "$T/$p.files" || { echo "test-packed: $tgz lacks native/${h##*/}" >&2; exit 1; }; }
  done
  if [ -f "packages/$p/native/binding.gyp" ]; then
    for f in package/native/binding.gyp package/native/prebuilds/linux-x64/node.napi.node package/native/prebuilds/linux-arm64/node.napi.node; do
      grep -qx "$f" "$T/$p.files" || { echo "test-packed: $tgz lacks $f" >&2; exit 1; }
    done
    if grep -q '^package/native/build/' "$T/$p.files"; then echo "test-packed: $tgz ships native/build/" >&2; exit 1; fi
  fi
  node_modules/.bin/publint run --strict "$tgz"
  # ESM-only packages: the esm-only profile leaves out CommonJS resolution (require() of ESM).
  node_modules/.bin/attw --profile esm-only --format table-flipped "$tgz"
done

step "npm install the tarballs into a fresh project, no compiler on PATH"
mkdir -p "$T/app" "$T/bin"
for tool in node npm npx sh; do ln -s "$(command -v $tool)" "$T/bin/$tool"; done
for tool in cc gcc g++ c++ make; do
  if PATH="$T/bin" command -v "$tool" >/dev/null; then echo "test-packed: $tool is still reachable" >&2; exit 1; fi
done
cd "$T/app"
echo '{ "name": "sf-packed-app", "private": true, "type": "module" }' >package.json
PATH="$T/bin" npm install --no-audit --no-fund --loglevel=error "$T"/tarballs/*.tgz
for p in source-video source-audio sinks; do
  d=node_modules/@senseflow/$p/native
  [ -e "$d/build" ] && { echo "test-packed: $d/build exists: the install compiled the addon" >&2; exit 1; }
  [ -e "$d/prebuilds/linux-x64/node.napi.node" ] || { echo "test-packed: $d has no prebuild" >&2; exit 1; }
done

step "the addons load from their prebuilds"
cat >addons.mjs <<'EOF'
import { createRequire } from 'node:module';
import { convertFrame } from '@senseflow/source-video';
import { fftEngine } from '@senseflow/sinks';
import { listAudioDevices } from '@senseflow/source-audio';
const require = createRequire(import.meta.url);
const load = require('node-gyp-build');
for (const p of ['source-video', 'source-audio', 'sinks']) {
  const path = load.path(new URL(`./node_modules/@senseflow/${p}/native`, import.meta.url).pathname);
  if (!/prebuilds\/linux-x64\/node\.napi\.node$/.test(path)) throw new Error(`${p} resolves to ${path}`);
}
const rgb = convertFrame({ data: new Uint8Array(4 * 2 * 2).fill(128), pixelFormat: 'yuyv', width: 4, height: 2 }, 'rgb24');
if (rgb.length !== 24) throw new Error('convertFrame');
const fft = fftEngine({ engine: 'fftw' });
const plan = fft.plan(256);
const out = new Float32Array(129 * 2);
plan.forwardBatch(new Float32Array(256).fill(1), out, 1);
if (Math.abs(out[0] - 256) > 1e-3) throw new Error(`FFT DC bin ${out[0]}`);
// Lists through the ALSA addon: throws a NativeError ("Possible solutions") when it cannot load.
const audio = await listAudioDevices({ probe: false, soundServer: false });
console.log(`addons ok: ${fft.description}, ${audio.length} ALSA device(s)`);
EOF
node addons.mjs

step "an example runs"
cp "$ROOT/examples/control-loop.mjs" "$ROOT/examples/imu-sensor.mjs" .
timeout 120 node control-loop.mjs 1

step "npx senseflow demo"
timeout 180 npx senseflow demo --test --duration 2 --out demo
[ -s demo/session.json ] || { echo "test-packed: the demo wrote no session.json" >&2; exit 1; }
echo "test-packed: ok"
