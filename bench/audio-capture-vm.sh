#!/bin/bash
# ALSA capture CPU on snd-aloop in the kernel VM (tools/kernel-vm): aplay plays into hw:Loopback,0 and
# audio-capture.bench.mjs captures hw:Loopback,1 with senseflow, arecord and the C reference, in the same run.
#   bash bench/audio-capture-vm.sh [--no-pku] [--tsc] [--icount] [audio-capture.bench.mjs options]
# The VM runs without KVM here, so CPU times are the emulator's, and qemu charges costs no real CPU has. With
# no option the guest is the one the kernel tests boot (qemu -cpu max: protection keys, HPET clock).
#   --no-pku   the guest kernel boots with nopku. Every Node thread runs with a non-default PKRU, and qemu
#              flushes its emulated TLB on every PKRU change, so on each context switch into and out of a
#              Node thread; a real CPU does not. The C reference's --pkey side shows this cost by itself.
#   --tsc      the guest's clock source is the TSC (clocksource=tsc tsc=reliable) instead of the emulated
#              HPET, whose every read is an emulated device access. A real x86 reads the TSC in the vDSO.
#              senseflow reads the clock for every chunk and asks the kernel for driver timestamps
#              (SND_PCM_TSTAMP_ENABLE, a clock read at each pointer update); arecord does neither.
#   --icount   instruction counting (VM_ICOUNT=0, one vCPU, TSC clock): guest time advances 1 ns per guest
#              instruction, so CPU figures count instructions executed, free of how fast qemu emulates them.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
APPEND= CPUS=() MODE=
while [ $# -gt 0 ]; do
  case "$1" in
    --no-pku) APPEND+=" nopku" MODE+=" no-pku" ;;
    --tsc) APPEND+=" clocksource=tsc tsc=reliable" MODE+=" tsc" ;;
    --icount) export VM_ICOUNT=0; CPUS=(--cpus 1) MODE+=" icount" ;;
    *) break ;;
  esac
  shift
done
# With two vCPUs, aplay runs on vCPU 0 and the capture (bench, senseflow's worker, arecord, the C program) on
# vCPU 1: sharing a vCPU, each wake-up would switch address spaces, and qemu flushes its TLB on each switch.
INNER='PIN0= PIN1=; [ "$(nproc)" -ge 2 ] && PIN0="taskset -c 0" PIN1="taskset -c 1"
$PIN0 aplay -q -D hw:Loopback,0 -f S16_LE -r 48000 -c 2 --period-size=64 --buffer-size=4800 -t raw /dev/zero & AP=$!
sleep 1; echo "guest: aplay ${PIN0:-unpinned}, capture ${PIN1:-unpinned}; clock source $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource), $(nproc) vCPU, $(grep -qw ospke /proc/cpuinfo && echo "protection keys" || echo "no protection keys")"
$PIN1 node bench/audio-capture.bench.mjs --device hw:Loopback,1 "$@"; rc=$?; kill $AP; exit $rc'
echo "ALSA capture bench in the kernel VM, mode:${MODE:- as the kernel tests boot it}"
VM_APPEND="$APPEND" exec bash tools/kernel-vm/run-in-vm.sh "${CPUS[@]}" --modules snd-aloop -- sh -c "$INNER" sh "$@"
