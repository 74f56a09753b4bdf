#!/bin/bash
# run-vitest.sh [vitest args / test files] — run the kernel test tier (*.kernel.test.ts) inside the
# test VM (run-in-vm.sh), against vivid, v4l2loopback, snd-aloop and snd-dummy.
#
#   bash tools/kernel-vm/run-vitest.sh                                     all kernel tests
#   bash tools/kernel-vm/run-vitest.sh packages/source-video/test/x.kernel.test.ts   one file
#   bash tools/kernel-vm/run-vitest.sh -t 'snd-aloop'                      tests by name
#
# Under TCG every JS start-up is ~15x slower than on the host, so vitest runs in ONE forked worker
# (no per-file worker start-up, no thread pool to spin up) and uses the kernel project's long
# timeouts from vitest.config.ts. No matching files is a clear success (--passWithNoTests).
# Kernel test runs on one machine take turns (a lock in the VM cache dir): several TCG VMs on a few
# cores slow each other down so much that all of them run into timeouts. SENSEFLOW_VM_PARALLEL=1
# skips the lock.
# VM options come from the environment (VM_TIMEOUT, VM_MEM, VM_MODULES, VM_OPTS_*, see
# run-in-vm.sh --help); VM_TIMEOUT defaults to 1800 s here.
# Build the packages first (`pnpm build`): tests import them from dist/.
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
VITEST="$REPO/node_modules/vitest/vitest.mjs"
[ -f "$VITEST" ] || { echo "run-vitest: $VITEST not found; run \`pnpm install\` first" >&2; exit 2; }

# Paths given relative to the caller's directory become absolute; vitest runs at the repo root.
ARGS=()
for a in "$@"; do
  if [ -e "$a" ]; then ARGS+=("$(cd "$(dirname "$a")" && pwd)/$(basename "$a")"); else ARGS+=("$a"); fi
done

# colours when a person is watching (inside the VM the output is a pipe)
[ -t 1 ] && [ -z "${NO_COLOR:-}" ] && export FORCE_COLOR=1
export VM_TIMEOUT="${VM_TIMEOUT:-1800}"
cd "$REPO" || exit 2
if [ "${SENSEFLOW_VM_PARALLEL:-0}" != 1 ]; then
  . "$HERE/lib/cache-dir.sh"
  LOCK="$(senseflow_vm_cache)/vitest.lock"
  mkdir -p "$(dirname "$LOCK")"
  exec 8>"$LOCK"
  if ! flock -n 8; then
    echo "run-vitest: another kernel test run is using the VM; waiting for it (SENSEFLOW_VM_PARALLEL=1 to not wait)" >&2
    flock 8
  fi
fi
# The lock (fd 8) stays open until the VM is done.
run() {
  "$HERE/run-in-vm.sh" -- node "$VITEST" run --project kernel --passWithNoTests \
    --pool=forks --poolOptions.forks.singleFork=true "${ARGS[@]}"
}
run
rc=$?
# 139 = vitest's own process died of SIGSEGV. It loads no senseflow code (tests and addons run in its
# forked child, whose crash vitest reports as a failed run, exit 1); it happened once in ~40 runs under
# TCG, before any test file ended. Run the tier once more, saying so; a second crash fails.
if [ "$rc" = 139 ]; then
  echo "run-vitest: the test runner itself crashed (SIGSEGV, kernel log above); running the kernel tier once more" >&2
  run
  rc=$?
fi
exit "$rc"
