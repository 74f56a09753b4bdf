#!/bin/bash
# vm-prepare.sh — one-time, cached preparation of the kernel-test VM used by run-in-vm.sh.
#
#   1. installs the host packages it needs when missing (apt): qemu-system-x86 busybox-static kmod
#      xz-utils v4l-utils alsa-utils v4l2loopback-source, and linux-headers-<kver> for step 4;
#   2. downloads the Debian kernel package that `linux-image-amd64` points at and EXTRACTS it
#      (apt-get download + dpkg-deb -x: no maintainer scripts run, the host's /boot is untouched),
#      then runs depmod on the extracted tree so the guest can `modprobe -d TREE vivid`;
#   3. decompresses the bzImage payload into an ELF vmlinux: qemu boots it directly (PVH), which
#      skips the firmware and the in-guest XZ decompression (~2 s per boot under TCG);
#   4. builds v4l2loopback from Debian's v4l2loopback-source into the same tree (vivid offers
#      raw formats only; v4l2loopback fed by ffmpeg gives tests an MJPEG webcam);
#   5. builds a small initramfs: busybox-static, guest/init, the virtio/9p/overlay modules.
#
# Cache: $SENSEFLOW_VM_CACHE, default /var/cache/senseflow-vm (root) or ~/.cache/senseflow-vm.
# It survives reboots, unlike /tmp, and a cold prepare costs a 70 MB download. About 450 MB.
# Idempotent and safe to run concurrently (flock). Prints the prepared paths as shell variable
# assignments on stdout (also saved in $CACHE/prepared.env). Progress goes to stderr.
# Env: VM_KERNEL_PKG=linux-image-X pins the kernel; SENSEFLOW_VM_NO_LOOPBACK=1 skips step 4;
#      VM_QUIET_PREPARE=1 silences progress.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib/cache-dir.sh
. "$HERE/lib/cache-dir.sh"
CACHE="$(senseflow_vm_cache)"
mkdir -p "$CACHE"
log() { [ -n "${VM_QUIET_PREPARE:-}" ] || echo "[vm-prepare] $*" >&2; }

# Two test runs starting at once must not both extract the kernel into the same directory.
exec 9>"$CACHE/.lock"
flock 9

# apt needs root; use sudo when we are not (CI images usually run as root)
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo -n"
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed'; }
apt_install() {
  log "apt-get install $*"
  if ! $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >&2; then
    # a fresh CI image has empty package lists
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update >&2
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >&2
  fi
}

# ---- 1. host packages -------------------------------------------------------------------------
missing=()
for p in qemu-system-x86 busybox-static kmod xz-utils v4l-utils alsa-utils; do installed "$p" || missing+=("$p"); done
[ "${SENSEFLOW_VM_NO_LOOPBACK:-0}" = 1 ] || installed v4l2loopback-source || missing+=(v4l2loopback-source)
((${#missing[@]} == 0)) || apt_install "${missing[@]}"

# ---- 2. kernel ----------------------------------------------------------------------------------
KPKG="${VM_KERNEL_PKG:-}"
if [ -z "$KPKG" ]; then
  KPKG=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
  [ -n "$KPKG" ] || { echo "vm-prepare: cannot resolve linux-image-amd64 (run apt-get update)" >&2; exit 1; }
fi
KVER="${KPKG#linux-image-}"
KROOT="$CACHE/kernel-$KVER"
if [ ! -f "$KROOT/.extracted" ]; then
  log "downloading and extracting $KPKG"
  rm -rf "$KROOT" "$CACHE/download"
  mkdir -p "$CACHE/download" "$KROOT"
  # as root, apt would drop to the _apt user, who may not write here (and warns about it)
  (cd "$CACHE/download" && apt-get -o APT::Sandbox::User="$(id -un)" download "$KPKG" >&2)
  dpkg-deb -x "$CACHE/download/${KPKG}_"*.deb "$KROOT"
  rm -rf "$CACHE/download"
  depmod -b "$KROOT" "$KVER"
  touch "$KROOT/.extracted"
fi

# ---- 3. uncompressed vmlinux for PVH boot --------------------------------------------------------
VMLINUZ="$KROOT/boot/vmlinuz-$KVER"
VMLINUX="$KROOT/boot/vmlinux-$KVER"
if [ ! -f "$VMLINUX" ]; then
  # the payload starts at the first XZ magic inside the bzImage
  off=$(grep -abo $'\xfd7zXZ\x00' "$VMLINUZ" | head -1 | cut -d: -f1 || true)
  if [ -n "$off" ]; then
    tail -c +$((off + 1)) "$VMLINUZ" | xz -dc 2>/dev/null > "$VMLINUX.tmp" || true  # trailing junk is expected
    if [ "$(head -c 4 "$VMLINUX.tmp" | od -An -tx1 | tr -d ' \n')" = 7f454c46 ]; then
      mv "$VMLINUX.tmp" "$VMLINUX"
    else
      rm -f "$VMLINUX.tmp"; log "no ELF payload found; run-in-vm.sh will boot the bzImage (slower)"
    fi
  fi
fi
[ -f "$VMLINUX" ] || VMLINUX=""

# ---- 4. v4l2loopback ------------------------------------------------------------------------------
LOOPBACK_KO="$KROOT/lib/modules/$KVER/extra/v4l2loopback.ko"
if [ "${SENSEFLOW_VM_NO_LOOPBACK:-0}" != 1 ] && [ ! -f "$LOOPBACK_KO" ]; then
  # out-of-tree build needs the headers of exactly this kernel (creates /lib/modules/$KVER/build)
  [ -d "/usr/src/linux-headers-$KVER" ] || apt_install "linux-headers-$KVER" gcc make || true
  if [ -d "/usr/src/linux-headers-$KVER" ]; then
    log "building v4l2loopback for $KVER"
    W=$(mktemp -d "${TMPDIR:-/tmp}/senseflow-v4l2loopback.XXXXXX")
    tar -xjf /usr/src/v4l2loopback.tar.bz2 -C "$W"
    if make -s -C "/usr/src/linux-headers-$KVER" M="$W/modules/v4l2loopback" modules >&2; then
      install -D -m 644 "$W/modules/v4l2loopback/v4l2loopback.ko" "$LOOPBACK_KO"
      depmod -b "$KROOT" "$KVER"
    else
      log "v4l2loopback build failed; the VM will run without /dev/video10"
    fi
    rm -rf "$W"
  else
    log "linux-headers-$KVER unavailable; the VM will run without v4l2loopback"
  fi
fi
[ -f "$LOOPBACK_KO" ] || LOOPBACK_KO=""

# ---- 5. initramfs -----------------------------------------------------------------------------------
BOOT_MODULES="virtio_pci 9pnet_virtio 9p virtio-rng overlay"
STAMP="$( (cat "$HERE/guest/init"; echo "$BOOT_MODULES $KVER") | sha1sum | cut -c1-12)"
INITRD="$CACHE/initramfs-$STAMP.cpio.gz"
if [ ! -f "$INITRD" ]; then
  log "building $INITRD"
  T=$(mktemp -d "${TMPDIR:-/tmp}/senseflow-initrd.XXXXXX")
  mkdir -p "$T"/{bin,dev,proc,sys,newroot,lib/modules}
  cp /bin/busybox "$T/bin/busybox"
  install -m 755 "$HERE/guest/init" "$T/init"
  # modules in load order, dependencies first, each once
  for m in $BOOT_MODULES; do
    modprobe -d "$KROOT" -S "$KVER" --show-depends "$m" | awk '$1 == "insmod" {print $2}'
  done | awk '!seen[$0]++' > "$T/ko.list"
  while read -r ko; do
    cp "$ko" "$T/lib/modules/"; basename "$ko" >> "$T/modules.boot"
  done < "$T/ko.list"
  rm -f "$T/ko.list"
  # older images may still be in use by a VM that is starting; drop only stale ones
  find "$CACHE" -maxdepth 1 -name 'initramfs-*.cpio.gz' -mtime +1 -delete
  (cd "$T" && find . | /bin/busybox cpio -o -H newc 2>/dev/null | gzip -1 > "$INITRD.tmp")
  mv "$INITRD.tmp" "$INITRD"
  rm -rf "$T"
fi

# ---- result -------------------------------------------------------------------------------------------
{
  echo "KVER=$KVER"
  echo "KROOT=$KROOT"
  echo "VMLINUZ=$VMLINUZ"
  echo "VMLINUX=$VMLINUX"
  echo "INITRD=$INITRD"
  echo "LOOPBACK_KO=$LOOPBACK_KO"
} > "$CACHE/prepared.env.tmp"
mv "$CACHE/prepared.env.tmp" "$CACHE/prepared.env"
cat "$CACHE/prepared.env"
