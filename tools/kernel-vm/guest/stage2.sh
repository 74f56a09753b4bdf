#!/bin/sh
# Second stage inside the VM, chrooted into the host's root (see guest/init). run-in-vm.sh copies
# it into the per-run control dir, mounted here at /run/vmctl, next to:
#   env.sh  the environment to run the command with (also VM_MODULES, VM_OPTS_*, VM_CWD)
#   cmd.sh  `exec 'CMD' 'ARG'...`
# It loads the device modules, waits for their nodes, runs the command with pipes as stdout and
# stderr, and writes its exit code to /run/vmctl/rc, which run-in-vm.sh returns.
CTL=/run/vmctl
. $CTL/env.sh
OUT=/dev/ttyS0   # the caller's stdout
ERR=/dev/ttyS1   # the caller's stderr
stty -F $OUT raw -echo 2>/dev/null
stty -F $ERR raw -echo 2>/dev/null
now() { cut -d' ' -f1 /proc/uptime; }
t_boot=$(now)

# The kernel tree (modules + depmod data) is mounted at $VM_KROOT; modprobe resolves deps there.
# Options of module m: $VM_OPTS_m (dashes become underscores); values must not contain spaces.
for m in $VM_MODULES; do
  eval "opts=\${VM_OPTS_$(echo "$m" | tr - _):-}"
  # shellcheck disable=SC2086 # opts is a word list on purpose
  modprobe -d "$VM_KROOT" "$m" $opts >$ERR 2>&1 || echo "stage2: modprobe $m $opts failed" >$ERR
done

# No udev: wait for devtmpfs to create each module's node (up to 5 s), then open them to all.
node_of() {
  case "$1" in
    vivid) ls /dev/video* ;;
    v4l2loopback) n=$(echo "${VM_OPTS_v4l2loopback:-}" | sed -n 's/.*video_nr=\([0-9]*\).*/\1/p'); ls "/dev/video${n:-}"* ;;
    snd-*|snd_*) ls /dev/snd/pcmC* ;;
    *) echo skip ;;
  esac
}
for m in $VM_MODULES; do
  [ -d "/sys/module/$(echo "$m" | tr - _)" ] || continue   # failed to load: reported above
  n=0
  while [ $n -lt 50 ] && [ -z "$(node_of "$m" 2>/dev/null)" ]; do sleep 0.1; n=$((n + 1)); done
done
chmod 0666 /dev/video* /dev/media* /dev/v4l-* /dev/snd/* 2>/dev/null
t_ready=$(now)

cd "$VM_CWD" 2>/dev/null || cd /
if [ "${VM_TTY:-0}" = 1 ]; then
  sh $CTL/cmd.sh </dev/null >$OUT 2>$ERR
  rc=$?
else
  # Pipes, not the serial tty: programs then behave as under CI (no colours, no progress bars).
  mkfifo /run/vm-out /run/vm-err
  cat /run/vm-out >$OUT & p_out=$!
  cat /run/vm-err >$ERR & p_err=$!
  sh $CTL/cmd.sh </dev/null >/run/vm-out 2>/run/vm-err
  rc=$?
  wait $p_out $p_err
fi
# Killed by a signal (rc > 128): what the kernel logged about it (the faulting program, address and the
# library it was in), since there is no core dump to look at afterwards.
if [ "$rc" -gt 128 ]; then
  dmesg 2>/dev/null | grep -iE 'segfault|general protection|trap |invalid opcode|killed process' | tail -5 \
    | sed 's/^/stage2: kernel log: /' >$ERR
fi
echo "$t_boot $t_ready $(now)" > $CTL/times
echo $rc > $CTL/rc
