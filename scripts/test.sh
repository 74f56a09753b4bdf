#!/usr/bin/env bash
# Sets up everything, then runs the four test tiers (docs/testing.md) and prints one closing line.
#   unit       no devices
#   userspace  ALSA file plugin, a private PulseAudio, ffmpeg servers, Xvfb, Chromium
#   packaging  packed tarballs installed with npm in a temp project (scripts/test-packed.sh); arm64 addons
#              cross-built and tested under qemu-user (scripts/test-arm64.sh)
#   kernel     inside a qemu VM with vivid, v4l2loopback, snd-aloop, snd-dummy
# Run one tier: scripts/test.sh unit|userspace|packaging|kernel
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test || exit 1
mkdir -p test-artifacts
tiers=(${1:-unit userspace packaging kernel})
status=0
export CI=${CI:-}   # under CI, a test whose device or tool is missing fails instead of skipping
for tier in "${tiers[@]}"; do
  echo "== tier: $tier"
  # The VM's kernel, modules and v4l2loopback build are cached; prepare them outside the tests' timeouts.
  [ "$tier" = kernel ] && { bash tools/kernel-vm/vm-prepare.sh || status=1; }
  pnpm -s "test:$tier" --reporter=default --reporter=json --outputFile="test-artifacts/vitest-$tier.json" || status=1
done
node scripts/summarize-tests.mjs "${tiers[@]}" || status=1
exit $status
