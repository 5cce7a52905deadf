#!/usr/bin/env bash
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# A small real Linux guest for the libvirt tests: Debian bookworm with cloud-init (NoCloud only),
# the QEMU guest agent and the network stack of Debian's own cloud images (netplan.io over
# systemd-networkd, so cloud-init renders network-config through netplan as it does there),
# built once from Debian packages into $GHOST_CACHE/images/:
#
#   debian-bookworm-cloud.qcow2   root file system (ext4, no partition table, read-only file)
#   debian-bookworm-cloud.vmlinuz debian-bookworm-cloud.initrd   for direct kernel boot
#   debian-bookworm-cloud.stamp   recipe version; the build is skipped when it matches
#
# Boot with kernel + initrd and `root=/dev/vda rw console=ttyS0 quiet ipv6.disable=1` (why:
# docs/libvirt.md). Needs root (the root file system keeps its owners), mmdebstrap, e2fsprogs
# (mke2fs -d) and qemu-utils. Takes 1 to 5 minutes.
# Prints the three paths as KEY=value lines (GUEST_IMAGE, GUEST_KERNEL, GUEST_INITRD).
# Set GHOST_DEBIAN_MIRROR to use another mirror than deb.debian.org.
set -euo pipefail

RECIPE=8  # bump when the recipe below changes
CACHE=${GHOST_CACHE:-$HOME/.cache/ghost-infra}
OUT=$CACHE/images
NAME=debian-bookworm-cloud
MIRROR=${GHOST_DEBIAN_MIRROR:-http://deb.debian.org/debian}
IMAGE=$OUT/$NAME.qcow2
KERNEL=$OUT/$NAME.vmlinuz
INITRD=$OUT/$NAME.initrd
STAMP=$OUT/$NAME.stamp

report() {
  printf 'GUEST_IMAGE=%s\nGUEST_KERNEL=%s\nGUEST_INITRD=%s\n' "$IMAGE" "$KERNEL" "$INITRD"
}

if [[ -f $STAMP && $(cat "$STAMP") == "$RECIPE" && -f $IMAGE && -f $KERNEL && -f $INITRD ]]; then
  report
  exit 0
fi

for tool in mmdebstrap mke2fs qemu-img; do
  command -v "$tool" >/dev/null || { echo "guest_image.sh: $tool is missing (apt-get install mmdebstrap e2fsprogs qemu-utils)" >&2; exit 1; }
done
[[ $(id -u) == 0 ]] || { echo "guest_image.sh: run as root (the root file system keeps its owners)" >&2; exit 1; }

mkdir -p "$OUT"
# One build at a time; a second caller waits and then finds the stamp.
exec 9>"$OUT/.$NAME.lock"
flock 9
if [[ -f $STAMP && $(cat "$STAMP") == "$RECIPE" && -f $IMAGE && -f $KERNEL && -f $INITRD ]]; then
  report
  exit 0
fi

work=$(mktemp -d "$OUT/.build.XXXXXX")
trap 'rm -rf "$work"' EXIT
started=$SECONDS

# The initramfs's udev starts but coldplugs nothing (initramfs-tools takes a script of
# /etc/initramfs-tools/scripts over the one of the same name it ships): see "Boot time" below.
cat > "$work/init-top-udev" <<'SCRIPT'
#!/bin/sh -e
PREREQS=""
prereqs() { echo "$PREREQS"; }
case "$1" in
    prereqs) prereqs; exit 0;;
esac
# ghost.infra test guest: udevd runs (init-bottom/udev stops it and moves /dev) but coldplugs
# nothing; the modules that find the root disk (MODULES=list) are loaded next, and the disk
# appears in devtmpfs when they bind.
/lib/systemd/systemd-udevd --daemon --resolve-names=never
SCRIPT
# The customize hooks rebuild the initramfs small (see "Boot time" below).
mmdebstrap --quiet --variant=apt \
  --include=systemd-sysv,linux-image-cloud-amd64,cloud-init,qemu-guest-agent,udev,kmod,e2fsprogs,netplan.io,zstd \
  --customize-hook="echo MODULES=list > \"\$1/etc/initramfs-tools/conf.d/ghost-small.conf\"" \
  --customize-hook="printf 'virtio_pci\\nvirtio_blk\\n' >> \"\$1/etc/initramfs-tools/modules\"" \
  --customize-hook="mkdir -p \"\$1/etc/initramfs-tools/scripts/init-top\"" \
  --customize-hook="install -m 0755 '$work/init-top-udev' \"\$1/etc/initramfs-tools/scripts/init-top/udev\"" \
  --customize-hook="chroot \"\$1\" update-initramfs -u -k all" \
  bookworm "$work/rootfs.tar" "$MIRROR" >&2

root=$work/root
mkdir "$root"
tar -xpf "$work/rootfs.tar" -C "$root" --numeric-owner
rm "$work/rootfs.tar"

echo '/dev/vda / ext4 defaults,errors=remount-ro 0 1' > "$root/etc/fstab"
# A name cloud-init must replace (mmdebstrap copies the build host's name).
echo unconfigured > "$root/etc/hostname"
printf '127.0.0.1 localhost\n' > "$root/etc/hosts"
# NoCloud only: no network probing of other datasources.
echo 'datasource_list: [ NoCloud, None ]' > "$root/etc/cloud/cloud.cfg.d/90-ghost-datasource.cfg"
# As in Debian's cloud images: networkd is in the first boot's transaction, because cloud-init
# writes the netplan configuration only during that boot.
systemctl --root="$root" enable systemd-networkd.service >&2
# Test switch: `ghost.renderer=networkd` on the kernel command line makes cloud-init render the
# network config through its own parser and its networkd renderer, as on distributions without
# netplan (RHEL's sysconfig goes through the same parser), instead of handing it to netplan.
cat > "$root/etc/systemd/system/ghost-renderer.service" <<'UNIT'
[Unit]
Description=ghost.infra test switch: cloud-init network renderer from the kernel command line
DefaultDependencies=no
After=systemd-remount-fs.service
Before=cloud-init-local.service
# Checked by systemd itself: without the switch no shell starts ahead of cloud-init's first stage.
ConditionKernelCommandLine=ghost.renderer=networkd

[Service]
Type=oneshot
ExecStart=/bin/sh -c 'echo "system_info: {network: {renderers: [networkd]}}" > /etc/cloud/cloud.cfg.d/91-ghost-renderer.cfg'

[Install]
WantedBy=cloud-init-local.service
UNIT
systemctl --root="$root" enable ghost-renderer.service >&2
# Boot time under TCG (benchmarks/libvirt_boot.py measures it; every step in the guest runs
# 10-20 times slower than on hardware, so work the guest cannot use is skipped):
# - A guest without a NIC has no network to wait for: systemd-networkd-wait-online would wait
#   for its 2-minute timeout, and cloud-init's network stage waits for it.
mkdir -p "$root/etc/systemd/system/systemd-networkd-wait-online.service.d"
cat > "$root/etc/systemd/system/systemd-networkd-wait-online.service.d/ghost-no-nic.conf" <<'UNIT'
[Unit]
ConditionPathExistsGlob=/sys/class/net/e*
UNIT
# - cloud-init: no sshd here, so no host keys to generate (an empty ssh_keys skips the
#   generation, each attempt being a failing ssh-keygen run; the key fingerprints have nothing
#   to print); direct kernel boot, so no GRUB to configure; the C locale as it is (the locale
#   module runs locale-gen and fails on a locale that is not generated); the mirror's
#   sources.list as mmdebstrap wrote it; no module for software that is not installed. Every
#   key passes `cloud-init schema` (22.4 checks the merged configuration and warns).
cat > "$root/etc/cloud/cloud.cfg.d/91-ghost-fast.cfg" <<'CFG'
ssh_keys: {}
ssh_deletekeys: false
apt:
  preserve_sources_list: true
cloud_config_modules: [keyboard, set-passwords, apt-pipelining, apt-configure, ntp, timezone, runcmd]
cloud_final_modules: [package-update-upgrade-install, write-files-deferred, scripts-vendor, scripts-per-once,
  scripts-per-boot, scripts-per-instance, scripts-user, install-hotplug, phone-home, final-message,
  power-state-change]
CFG
# - The initramfs (rebuilt by mmdebstrap's customize hooks above) holds just what finds the
#   root disk, virtio_pci and virtio_blk (ext4 is built in), loads them itself and coldplugs
#   nothing: udev's coldplug of every device in the initramfs took 30 to 100 s under TCG on a
#   loaded host, the root disk then appears in 5 to 10 s. The real root's udev coldplugs as
#   usual. zstd makes the initramfs quick to unpack.
# - e2scrub_reap (a shell script looking for LVM snapshots, of which there are none) is part of
#   multi-user.target, which cloud-init's last stage waits for; so is its weekly timer.
systemctl --root="$root" mask e2scrub_reap.service e2scrub_all.timer >&2
# - With one vCPU, every unit of early boot takes its turn on the CPU beside cloud-init's first
#   stage. The ones below serve nothing this guest has: binfmt handlers, fuse, configfs, debugfs
#   and tracefs, huge pages, pstore, DRM and loop/device-mapper preloads, the static device nodes
#   of modules that are never loaded, and gettys on virtual terminals of a guest with no display
#   (getty@tty1, and tty2 to tty6 through getty-static; the serial getty stays).
systemctl --root="$root" mask systemd-binfmt.service proc-sys-fs-binfmt_misc.automount \
  proc-sys-fs-binfmt_misc.mount sys-fs-fuse-connections.mount sys-kernel-config.mount \
  sys-kernel-debug.mount sys-kernel-tracing.mount dev-hugepages.mount systemd-pstore.service \
  modprobe@configfs.service modprobe@fuse.service modprobe@drm.service modprobe@efi_pstore.service \
  modprobe@dm_mod.service modprobe@loop.service kmod-static-nodes.service getty@tty1.service \
  getty-static.service >&2
# - The journal stays in memory: no flush to /var/log/journal at boot (the console and
#   /var/log/cloud-init*.log keep what the tests read).
mkdir -p "$root/etc/systemd/journald.conf.d"
printf '[Journal]\nStorage=volatile\n' > "$root/etc/systemd/journald.conf.d/ghost-volatile.conf"
rm -rf "$root/var/log/journal"
# - QEMU's qemu64 model shows the svm flag, so udev loads kvm and kvm_amd (0.6 s under TCG) for a
#   guest that cannot run guests of its own.
printf 'blacklist kvm\nblacklist kvm_amd\nblacklist kvm_intel\n' > "$root/etc/modprobe.d/ghost-no-kvm.conf"
# - TCG on a busy host can take minutes to coldplug: device and service start jobs get 5 minutes
#   instead of 90 s, so /dev/ttyS0 (the serial getty) is not given up on.
mkdir -p "$root/etc/systemd/system.conf.d"
printf '[Manager]\nDefaultTimeoutStartSec=5min\n' > "$root/etc/systemd/system.conf.d/ghost-tcg.conf"
# Fresh identity on first boot, as in a cloud image.
: > "$root/etc/machine-id"
rm -f "$root/var/lib/dbus/machine-id"
rm -rf "$root/var/lib/cloud"
rm -rf "$root/var/cache/apt/archives"/*.deb "$root/var/lib/apt/lists"/*_Packages

newest() { find "$root/boot" -maxdepth 1 -name "$1" | sort -V | tail -n 1; }
cp "$(newest 'vmlinuz-*')" "$work/vmlinuz"
cp "$(newest 'initrd.img-*')" "$work/initrd"

mke2fs -q -t ext4 -L rootfs -d "$root" "$work/root.raw" 3G
qemu-img convert -f raw -O qcow2 "$work/root.raw" "$work/image.qcow2"
chmod 0444 "$work/image.qcow2" "$work/vmlinuz" "$work/initrd"
mv -f "$work/image.qcow2" "$IMAGE"
mv -f "$work/vmlinuz" "$KERNEL"
mv -f "$work/initrd" "$INITRD"
echo "$RECIPE" > "$STAMP"
echo "guest_image.sh: built $IMAGE in $((SECONDS - started)) s" >&2
report
