#!/usr/bin/env bash
# Packs every package into OUT (default ./packed) as npm tarballs, ready for `npm install OUT/*.tgz` in any
# project: the prebuilt addons for linux-x64 and linux-arm64 first (scripts/prebuild.sh), then `pnpm pack`
# (which turns workspace:* ranges into versions). Needs the TypeScript build (pnpm build).
#   bash scripts/pack.sh [OUT] [prebuild arches, default: x64 arm64]
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=$(mkdir -p "${1:-packed}" && cd "${1:-packed}" && pwd)
shift || true
bash scripts/prebuild.sh "${@:-x64 arm64}"
for p in core source-video source-audio source-sysstats sinks net nats cli; do
  rm -f "$OUT"/senseflow-"$p"-*.tgz
  (cd "packages/$p" && pnpm pack --pack-destination "$OUT" >/dev/null)
done
ls "$OUT"/*.tgz
