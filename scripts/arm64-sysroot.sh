#!/usr/bin/env bash
# Prepares (once, cached) an arm64 sysroot for cross-building the addons and running them under qemu-user:
# the arm64 -dev packages the addons link against (libturbojpeg0-dev, libasound2-dev, libfftw3-dev) and
# Debian's nodejs:arm64 (18.x, N-API 9) with everything they depend on.
#
# Nothing arm64 is installed on the machine: a private apt state (arm64 package lists, an empty dpkg
# status) resolves the dependency closure and downloads the .debs, and `dpkg-deb -x` unpacks them into
# the sysroot. No `dpkg --add-architecture`, no maintainer scripts; the host's node and libraries stay as
# they are. Installs the amd64 tools it needs (cross compiler, qemu-user) when missing.
#
# Cache: $SENSEFLOW_ARM64_CACHE, default /var/cache/senseflow-arm64 (root) or ~/.cache/senseflow-arm64.
# About 180 MB; a cold run downloads ~25 MB. Prints the sysroot's path on stdout; progress on stderr.
set -euo pipefail
if [ -n "${SENSEFLOW_ARM64_CACHE:-}" ]; then CACHE=$SENSEFLOW_ARM64_CACHE
elif [ -w /var/cache ]; then CACHE=/var/cache/senseflow-arm64
else CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/senseflow-arm64; fi
SYSROOT=$CACHE/sysroot
PKGS=(nodejs libturbojpeg0-dev libasound2-dev libfftw3-dev)
log() { echo "[arm64-sysroot] $*" >&2; }

tools=(g++-aarch64-linux-gnu binutils-aarch64-linux-gnu qemu-user file)
missing=()
for p in "${tools[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo=sudo
  log "installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=600 "${missing[@]}" >/dev/null
fi

mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9
stamp="$SYSROOT/.senseflow-v1"  # bump when PKGS changes
if [ ! -e "$stamp" ]; then
  apt_dir=$CACHE/apt
  mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
  : >"$apt_dir/status"
  apt=(apt-get -qq -o APT::Architecture=arm64 -o APT::Architectures::=arm64 -o Dir::State::Lists="$apt_dir/lists"
    -o Dir::State::status="$apt_dir/status" -o Dir::Cache="$apt_dir/cache" -o Debug::NoLocking=1
    -o APT::Install-Recommends=0)
  log "resolving and downloading ${PKGS[*]} (arm64)"
  "${apt[@]}" update
  "${apt[@]}" install -y --download-only "${PKGS[@]}" >/dev/null
  rm -rf "$SYSROOT.tmp"
  mkdir -p "$SYSROOT.tmp"
  for deb in "$apt_dir"/cache/archives/*.deb; do dpkg-deb -x "$deb" "$SYSROOT.tmp"; done
  rm -rf "$SYSROOT"
  mv "$SYSROOT.tmp" "$SYSROOT"
  touch "$stamp"
  log "sysroot ready: $SYSROOT"
fi
# qemu -L looks in the sysroot first, then on the host: without its own (empty) conf.d, alsa-lib would read
# the host's /etc/alsa/conf.d and fail on hooks whose arm64 plugin libraries are not in the sysroot.
mkdir -p "$SYSROOT/etc/alsa/conf.d"
echo "$SYSROOT"
