#!/bin/sh
# Buildroot post-build script of the Raspberry Pi 4 panel (after common/post-build.sh):
#   post-build.sh TARGET_DIR   (BINARIES_DIR from the environment, as Buildroot sets it)
# boot.cmd loads the kernel, its device tree and the overlays from the booted slot's /boot, so
# an OS update replaces all three together. The kernel package installs Image and the DTBs
# flat in /boot; U-Boot names the tree with its directory (${fdtfile}, e.g.
# broadcom/bcm2711-rpi-4-b.dtb), so copy them there (copies, not links: a few KiB each, and
# U-Boot's ext4 reader then follows no link). The overlays come from the Pi firmware package
# (BINARIES_DIR/rpi-firmware/overlays): the ones boot.cmd applies.
set -eu

TARGET_DIR=${TARGET_DIR:-${1:?usage: post-build.sh TARGET_DIR}}
: "${BINARIES_DIR:?BINARIES_DIR must be set (Buildroot sets it)}"
BOARD_DIR=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)

overlays=$(sed -n 's/^setenv airpanel_overlays "\(.*\)"$/\1/p' "$BOARD_DIR/boot.cmd")
[ -n "$overlays" ] || { echo "post-build: no airpanel_overlays in $BOARD_DIR/boot.cmd" >&2; exit 1; }

found=0
mkdir -p "$TARGET_DIR/boot/broadcom"
for dtb in "$TARGET_DIR"/boot/bcm2711-*.dtb; do
	[ -e "$dtb" ] || continue
	install -m 0644 "$dtb" "$TARGET_DIR/boot/broadcom/${dtb##*/}"
	found=1
done
[ "$found" = 1 ] || { echo "post-build: no bcm2711 device tree in $TARGET_DIR/boot (BR2_LINUX_KERNEL_INSTALL_TARGET)" >&2; exit 1; }

mkdir -p "$TARGET_DIR/boot/overlays"
for overlay in $overlays; do
	src="$BINARIES_DIR/rpi-firmware/overlays/$overlay.dtbo"
	[ -s "$src" ] || { echo "post-build: no $src (BR2_PACKAGE_RPI_FIRMWARE_INSTALL_DTB_OVERLAYS)" >&2; exit 1; }
	install -m 0644 "$src" "$TARGET_DIR/boot/overlays/$overlay.dtbo"
done
