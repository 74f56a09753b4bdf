#!/bin/bash
# run-in-vm.sh — run one command inside a throw-away qemu VM that boots Debian's stock kernel
# with virtual capture devices loaded:
#   vivid         V4L2 webcam-type capture node        /dev/video0   (raw formats: YUYV, NV12, ...)
#   v4l2loopback  loopback node, feed it with ffmpeg     /dev/video10  (e.g. MJPEG)
#   snd-aloop     ALSA loopback card                   hw:Loopback   (play on ,0 - capture on ,1)
#   snd-dummy     ALSA dummy card                      hw:Dummy
# The guest's root is the HOST's root over 9p (read-only, with a tmpfs overlay that is discarded),
# so host binaries (node, v4l2-ctl, ffmpeg, arecord, built .node addons) run unchanged. The current
# directory, and every --share DIR, is mounted read-write at the same path. The command's stdout
# and stderr stream to ours; its exit code is ours.
#
#   run-in-vm.sh [options] [--] CMD [ARGS...]        (use  sh -c '...'  for shell syntax)
#
# Options (environment variable in brackets):
#   --share DIR       another writable dir, same path in the guest (repeatable)  [VM_SHARES=a:b]
#   --no-cwd-share    do not mount the current directory writable               [VM_CWD_SHARE=0]
#   --modules "LIST"  device modules to load  [VM_MODULES, default "vivid v4l2loopback snd-aloop snd-dummy"]
#   --mem MB          guest RAM, default 1024                                    [VM_MEM]
#   --cpus N          guest vCPUs, default the host's count                      [VM_CPUS]
#   --timeout S       kill the VM after S seconds, default 600 (exit 124)        [VM_TIMEOUT]
#   --accel A         kvm | tcg | auto (default: kvm if usable, else tcg)         [VM_ACCEL]
#   --debug           kernel console and init messages on stdout                 [VM_DEBUG=1]
#   --timing          print boot and command timings to stderr                   [VM_TIMING=1]
#   -h, --help        this text
# More environment:
#   VM_OPTS_<module, - as _>  module options, e.g. VM_OPTS_vivid="n_devs=2 ..." (defaults below)
#   VM_PASS_ENV="A B"  extra variables to pass in (PATH HOME USER LANG LC_ALL TERM CI TZ and all
#                      NODE_*, npm_config_*, SENSEFLOW_*, VITEST_* are always passed)
#   VM_OVERLAY=0       root strictly read-only (no tmpfs overlay)
#   VM_TTY=1           give the command the serial tty instead of pipes
#   VM_TB_MB=N         cap qemu's TCG translation cache (default 1 GiB) to save host RAM
#   VM_APPEND="..."    more kernel command line (e.g. "clocksource=tsc tsc=reliable")
#   VM_ICOUNT=N        TCG only: guest time = 2^N ns per guest instruction (-icount shift=N), so CPU
#                      figures count instructions, free of the host's emulation speed and load (with
#                      --cpus 1: with two vCPUs the guest hung bringing up the second)
#   VM_BOOT=bzimage    boot the compressed kernel through SeaBIOS instead of PVH (about 2 s slower)
#   SENSEFLOW_VM_CACHE see vm-prepare.sh
# Exit codes: the command's own; 124 the VM hit --timeout; 125 the VM died or could not start
# before the command finished (rerun with --debug); 2 bad usage.
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$HERE/lib/cache-dir.sh"
CACHE="$(senseflow_vm_cache)"

usage() { sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
MEM="${VM_MEM:-1024}"
CPUS="${VM_CPUS:-$(nproc)}"
TIMEOUT="${VM_TIMEOUT:-600}"
ACCEL="${VM_ACCEL:-auto}"
DEBUG="${VM_DEBUG:-0}"
TIMING="${VM_TIMING:-0}"
MODULES="${VM_MODULES-vivid v4l2loopback snd-aloop snd-dummy}"
CWD_SHARE="${VM_CWD_SHARE:-1}"
IFS=: read -r -a SHARES <<< "${VM_SHARES:-}"
need_arg() { [ $# -ge 2 ] || { echo "run-in-vm: $1 needs a value" >&2; exit 2; }; }
while [ $# -gt 0 ]; do
  case "$1" in
    --share) need_arg "$@"; SHARES+=("$2"); shift 2 ;;
    --no-cwd-share) CWD_SHARE=0; shift ;;
    --modules) need_arg "$@"; MODULES="$2"; shift 2 ;;
    --mem) need_arg "$@"; MEM="$2"; shift 2 ;;
    --cpus) need_arg "$@"; CPUS="$2"; shift 2 ;;
    --timeout) need_arg "$@"; TIMEOUT="$2"; shift 2 ;;
    --accel) need_arg "$@"; ACCEL="$2"; shift 2 ;;
    --debug) DEBUG=1; shift ;;
    --timing) TIMING=1; shift ;;
    -h|--help) usage; exit 0 ;;
    --) shift; break ;;
    -*) echo "run-in-vm: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) break ;;
  esac
done
[ $# -gt 0 ] || { echo "usage: run-in-vm.sh [options] [--] CMD [ARGS...]  (see --help)" >&2; exit 2; }
case "$TIMEOUT" in ''|*[!0-9.]*) echo "run-in-vm: --timeout wants seconds, got '$TIMEOUT'" >&2; exit 2 ;; esac
case "$ACCEL" in kvm|tcg|auto) ;; *) echo "run-in-vm: --accel wants kvm, tcg or auto, got '$ACCEL'" >&2; exit 2 ;; esac

# default module options; see docs/testing.md before changing device numbers
: "${VM_OPTS_vivid=n_devs=1 node_types=0x1 num_inputs=1 input_types=0x0 multiplanar=1}"
# Three loopback webcams, one per test suite that feeds one: a writer that stops can leave a node in a
# state the next writer cannot open (G_FMT EINVAL), so suites do not share a node.
: "${VM_OPTS_v4l2loopback=devices=3 video_nr=10,11,12 exclusive_caps=1,1,1 card_label=senseflow-loopback,senseflow-loopback-2,senseflow-loopback-3 max_buffers=4}"
: "${VM_OPTS_snd_aloop=index=0 id=Loopback pcm_substreams=2}"
: "${VM_OPTS_snd_dummy=index=1 id=Dummy}"

clock() { date +%s.%N; }
T_START=$(clock)

# ---- preparation: reuse $CACHE/prepared.env while it is newer than what produced it
PREPARED="$CACHE/prepared.env"
if [ -f "$PREPARED" ] && [ "$PREPARED" -nt "$HERE/vm-prepare.sh" ] && [ "$PREPARED" -nt "$HERE/guest/init" ] \
   && [ -z "${VM_KERNEL_PKG:-}" ] && . "$PREPARED" && [ -f "$INITRD" ] && [ -d "$KROOT" ]; then
  :
else
  PREP_OUT=$(VM_QUIET_PREPARE="${VM_QUIET_PREPARE:-}" "$HERE/vm-prepare.sh") || { echo "run-in-vm: vm-prepare.sh failed" >&2; exit 125; }
  eval "$PREP_OUT"
fi
command -v qemu-system-x86_64 >/dev/null || { echo "run-in-vm: qemu-system-x86_64 not found" >&2; exit 125; }
T_PREPARED=$(clock)

# ---- per-run control dir (exported to the guest as /run/vmctl)
RUN=$(mktemp -d "${TMPDIR:-/tmp}/senseflow-vm-run.XXXXXX")
CTL="$RUN/ctl"
mkdir -p "$CTL"
QEMU_PID="" READER_PID=""
cleanup() {
  [ -n "$QEMU_PID" ] && kill "$QEMU_PID" 2>/dev/null
  [ -n "$READER_PID" ] && kill "$READER_PID" 2>/dev/null
  rm -rf "$RUN"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# single-quote for the guest's /bin/sh (dash has no $'...')
shq() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }
{ printf 'exec'; for a in "$@"; do printf ' %s' "$(shq "$a")"; done; echo; } > "$CTL/cmd.sh"
{
  for v in PATH HOME USER LOGNAME LANG LC_ALL TERM TZ CI VM_TTY \
           $(compgen -e | grep -E '^(NODE_|npm_config_|SENSEFLOW_|VITEST_)' || true) ${VM_PASS_ENV:-}; do
    [ -n "${!v+x}" ] && echo "export $v=$(shq "${!v}")"
  done
  echo "export IN_SENSEFLOW_VM=1 VM_KROOT=/run/vmkernel VM_CWD=$(shq "$PWD") VM_MODULES=$(shq "$MODULES")"
  for m in $MODULES; do v="VM_OPTS_${m//-/_}"; echo "export $v=$(shq "${!v:-}")"; done
} > "$CTL/env.sh"
cp "$HERE/guest/stage2.sh" "$CTL/stage2.sh"

# writable shares: tags share0..N-1, their host paths listed one per line in ctl/shares
ALL_SHARES=()
[ "$CWD_SHARE" = 1 ] && [ "$PWD" != / ] && ALL_SHARES+=("$PWD")
for s in "${SHARES[@]}"; do
  [ -n "$s" ] || continue
  [ -d "$s" ] || { echo "run-in-vm: --share $s: not a directory" >&2; exit 2; }
  ALL_SHARES+=("$(cd "$s" && pwd)")
done
: > "$CTL/shares"
SHARE_ARGS=()
for i in "${!ALL_SHARES[@]}"; do
  echo "${ALL_SHARES[$i]}" >> "$CTL/shares"
  SHARE_ARGS+=(-fsdev "local,id=share$i,path=${ALL_SHARES[$i]},security_model=none"
               -device "virtio-9p-pci,fsdev=share$i,mount_tag=share$i")
done

# ---- accelerator. KVM only where a stock kernel can run on it: kvm_intel/kvm_amd. A /dev/kvm from
# kvm_pvm (nested "pagetable VM" on some cloud builders) only runs PVM-patched kernels and hangs.
if [ "$ACCEL" = auto ]; then
  if [ -w /dev/kvm ] && { [ -d /sys/module/kvm_intel ] || [ -d /sys/module/kvm_amd ]; }; then ACCEL=kvm; else ACCEL=tcg; fi
fi
if [ "$ACCEL" = kvm ]; then
  ACCEL_ARGS=(-accel kvm -cpu host)
else
  # Instruction counting (benchmarks): guest time advances 2^N ns per guest instruction, so a task's CPU
  # time counts its instructions, not how fast the host emulated them. Needs single-threaded TCG.
  TCG_THREAD=multi ICOUNT_ARGS=()
  [ -n "${VM_ICOUNT:-}" ] && TCG_THREAD=single ICOUNT_ARGS=(-icount "shift=$VM_ICOUNT,sleep=on")
  ACCEL_ARGS=(-accel "tcg,thread=$TCG_THREAD${VM_TB_MB:+,tb-size=$VM_TB_MB}" "${ICOUNT_ARGS[@]}" -cpu "${VM_CPU:-max}")
fi

APPEND="panic=-1 sf.shares=${#ALL_SHARES[@]} sf.sharecache=${VM_SHARE_CACHE:-loose} sf.overlay=${VM_OVERLAY:-1} mitigations=off random.trust_cpu=on"
APPEND+=" i8042.noaux i8042.nokbd i8042.nopnp ${VM_APPEND:-}"
# kernel messages: on our stdout with --debug, else on ttyS2, which is discarded
if [ "$DEBUG" = 1 ]; then APPEND+=" console=ttyS0 loglevel=7 sf.debug=1"; else APPEND+=" console=ttyS2 loglevel=1 quiet"; fi
KERNEL="$VMLINUZ"
[ "${VM_BOOT:-pvh}" = pvh ] && [ -n "${VMLINUX:-}" ] && KERNEL="$VMLINUX"

# guest ttyS1 -> our stderr. With a PATH.in/PATH.out pair qemu reads one and writes the other; a
# single FIFO would be opened read-write and qemu would eat its own output as serial input.
mkfifo "$RUN/stderr.in" "$RUN/stderr.out"
cat "$RUN/stderr.out" >&2 &
READER_PID=$!

T_QEMU=$(clock)
timeout --foreground -k 5 "$TIMEOUT" qemu-system-x86_64 -nodefaults -no-user-config -no-reboot \
  -machine q35 "${ACCEL_ARGS[@]}" -smp "$CPUS" -m "$MEM" \
  -kernel "$KERNEL" -initrd "$INITRD" -append "$APPEND" \
  -display none -vga none -nic none \
  -serial stdio -serial "pipe:$RUN/stderr" -serial null \
  -fsdev "local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap" \
  -device virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot \
  -fsdev "local,id=kroot,path=$KROOT,security_model=none,readonly=on" \
  -device virtio-9p-pci,fsdev=kroot,mount_tag=kroot \
  -fsdev "local,id=vmctl,path=$CTL,security_model=none" \
  -device virtio-9p-pci,fsdev=vmctl,mount_tag=vmctl \
  "${SHARE_ARGS[@]}" -device virtio-rng-pci </dev/null &
QEMU_PID=$!
wait "$QEMU_PID"
QEMU_RC=$?
QEMU_PID=""
T_END=$(clock)
sleep 0.1   # let the stderr reader drain
kill "$READER_PID" 2>/dev/null
READER_PID=""

if [ -f "$CTL/rc" ]; then
  RC=$(cat "$CTL/rc")
elif [ "$QEMU_RC" = 124 ] || [ "$QEMU_RC" = 137 ]; then
  echo "run-in-vm: timed out after ${TIMEOUT}s" >&2; RC=124
else
  echo "run-in-vm: the VM ended (qemu exit $QEMU_RC) before the command finished; rerun with --debug" >&2; RC=125
fi

if [ "$TIMING" = 1 ]; then
  read -r G_BOOT G_READY G_DONE < "$CTL/times" 2>/dev/null || { G_BOOT=0 G_READY=0 G_DONE=0; }
  awk -v t0="$T_START" -v tp="$T_PREPARED" -v tq="$T_QEMU" -v te="$T_END" -v a="$ACCEL" \
      -v gb="$G_BOOT" -v gr="$G_READY" -v gd="$G_DONE" 'BEGIN {
    printf "run-in-vm: accel=%s prepare %.2fs | guest: userspace %.2fs, devices ready %.2fs, command %.2fs | qemu %.2fs | total %.2fs\n",
      a, tp - t0, gb, gr, gd - gr, te - tq, te - t0 }' >&2
fi
exit "$RC"
