#!/usr/bin/env bash
# Installs everything senseflow needs on a fresh Debian 12 machine, then builds it. Safe to run again:
# each step checks what is already there.
#   scripts/setup.sh demo   what the demo needs (build tools, ALSA, libjpeg-turbo, FFTW, ffmpeg)
#   scripts/setup.sh test   plus the test benches (qemu kernel VM, PulseAudio, Xvfb, Chromium, OpenCV, NATS)
set -euo pipefail
cd "$(dirname "$0")/.."
profile=${1:-test}

demo_pkgs=(build-essential python3 pkg-config libasound2-dev libasound2-plugins alsa-utils libturbojpeg0-dev
  libjpeg62-turbo-dev libfftw3-dev ffmpeg)
test_pkgs=(qemu-system-x86 busybox-static kmod xz-utils cpio v4l-utils v4l2loopback-source pulseaudio
  pulseaudio-utils sox xvfb x11-xserver-utils python3-numpy python3-opencv chromium nats-server
  g++-aarch64-linux-gnu qemu-user file)  # arm64 prebuilds + tests (scripts/test-arm64.sh)
pkgs=("${demo_pkgs[@]}")
[ "$profile" = test ] && pkgs+=("${test_pkgs[@]}")

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo=sudo
  echo "setup: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# pnpm, pinned in package.json. Corepack's signature check fails against some registries: use npm.
want=$(node -p "require('./package.json').packageManager.split('@')[1]")
if ! command -v pnpm >/dev/null || [ "$(pnpm --version)" != "$want" ]; then
  echo "setup: installing pnpm@$want"
  npm install -g "pnpm@$want" --silent >/dev/null 2>&1 || COREPACK_INTEGRITY_KEYS=0 corepack prepare "pnpm@$want" --activate
fi

export npm_config_nodedir=${npm_config_nodedir:-$(dirname "$(dirname "$(command -v node)")")}
# Quiet when it works; a failure (an addon that does not compile) is shown, not just an exit status.
pnpm install --frozen-lockfile --reporter=silent || {
  echo "setup: pnpm install failed; again, with its output:" >&2
  pnpm install --frozen-lockfile --reporter=append-only >&2
  exit 1
}
pnpm build --output-logs=errors-only
echo "setup: ready ($profile)"
