#!/usr/bin/env bash
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# A small real Linux guest for the libvirt tests: Debian bookworm with cloud-init (NoCloud only)
# and the QEMU guest agent, built once from Debian packages into $GHOST_CACHE/images/:
#
#   debian-bookworm-cloud.qcow2   root file system (ext4, no partition table, read-only file)
#   debian-bookworm-cloud.vmlinuz debian-bookworm-cloud.initrd   for direct kernel boot
#   debian-bookworm-cloud.stamp   recipe version; the build is skipped when it matches
#
# Boot with kernel + initrd and `root=/dev/vda rw console=ttyS0`. Needs root (the root file
# system keeps its owners), mmdebstrap, e2fsprogs (mke2fs -d) and qemu-utils. Takes ~1 minute.
# Prints the three paths as KEY=value lines (GUEST_IMAGE, GUEST_KERNEL, GUEST_INITRD).
# Set GHOST_DEBIAN_MIRROR to use another mirror than deb.debian.org.
set -euo pipefail

RECIPE=1  # bump when the recipe below changes
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

mmdebstrap --quiet --variant=apt \
  --include=systemd-sysv,linux-image-cloud-amd64,cloud-init,qemu-guest-agent,udev,kmod,e2fsprogs \
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
