# Sourced by vm-prepare.sh and run-in-vm.sh: where the prepared kernel tree and initramfs live.
# $SENSEFLOW_VM_CACHE wins; else /var/cache/senseflow-vm when we may write there (root, CI),
# else the user's cache dir. Not /tmp: the cache should survive reboots (70 MB download).
senseflow_vm_cache() {
  if [ -n "${SENSEFLOW_VM_CACHE:-}" ]; then
    echo "$SENSEFLOW_VM_CACHE"
  elif [ -w /var/cache/senseflow-vm ] || { [ ! -e /var/cache/senseflow-vm ] && [ -w /var/cache ]; }; then
    echo /var/cache/senseflow-vm
  else
    echo "${XDG_CACHE_HOME:-$HOME/.cache}/senseflow-vm"
  fi
}
