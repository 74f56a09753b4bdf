#!/usr/bin/env bash
# Sets up what the demo needs, then records ~5 s from the real camera, microphone and system stats when
# present — otherwise from the test pattern and tone (it says which) — and prints a summary.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh demo
exec node packages/cli/dist/bin.js demo "$@"
