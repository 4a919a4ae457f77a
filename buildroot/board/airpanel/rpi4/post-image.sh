#!/bin/sh
# Buildroot post-image script (BR2_ROOTFS_POST_IMAGE_SCRIPT) of the Raspberry Pi 4 panel:
#   post-image.sh BINARIES_DIR
# with the Pi firmware (BINARIES_DIR/rpi-firmware/), the DTBs, u-boot.bin, boot.scr and
# rootfs.ext4 built. Assembles BINARIES_DIR/airpanel-rpi4.img with genimage and, when
# AIRPANEL_RAUC_KEY and AIRPANEL_RAUC_CERT are set, signs a RAUC update bundle.
#
# Environment: TARGET_DIR, HOST_DIR (tools; else PATH), AIRPANEL_{BOOT,SLOT,DATA}_SIZE,
# AIRPANEL_IMAGE_VERSION, AIRPANEL_RAUC_{KEY,CERT,KEYRING}.
set -eu

BOARD_DIR=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)
BINARIES_DIR=${1:-${BINARIES_DIR:?usage: post-image.sh BINARIES_DIR}}
: "${TARGET_DIR:?TARGET_DIR must be set (Buildroot sets it)}"

export AIRPANEL_BOOT_SIZE="${AIRPANEL_BOOT_SIZE:-64M}"
export AIRPANEL_SLOT_SIZE="${AIRPANEL_SLOT_SIZE:-1024M}"
export AIRPANEL_DATA_SIZE="${AIRPANEL_DATA_SIZE:-512M}"
# shellcheck source-path=SCRIPTDIR source=../common/image-version.sh
. "$BOARD_DIR/../common/image-version.sh"

for f in rpi-firmware/start4.elf rpi-firmware/fixup4.dat rpi-firmware/config.txt u-boot.bin boot.scr \
	bcm2711-rpi-4-b.dtb rootfs.ext4; do
	[ -e "$BINARIES_DIR/$f" ] || { echo "post-image: no $BINARIES_DIR/$f" >&2; exit 1; }
done
mkdir -p "$BINARIES_DIR/rpi-firmware/overlays"

if [ -n "${HOST_DIR:-}" ] && [ -x "$HOST_DIR/bin/genimage" ]; then GENIMAGE=$HOST_DIR/bin/genimage; else GENIMAGE=genimage; fi
work=$(mktemp -d "${BUILD_DIR:-${TMPDIR:-/tmp}}/airpanel-genimage.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/root"
"$GENIMAGE" \
	--rootpath "$work/root" \
	--tmppath "$work/tmp" \
	--inputpath "$BINARIES_DIR" \
	--outputpath "$BINARIES_DIR" \
	--config "$BOARD_DIR/genimage.cfg"

if [ -n "${AIRPANEL_RAUC_KEY:-}" ] && [ -n "${AIRPANEL_RAUC_CERT:-}" ]; then
	"$BOARD_DIR/../common/rauc-bundle.sh" "$BINARIES_DIR" "$TARGET_DIR" airpanel-rpi4 "$VERSION"
fi
echo "post-image: disk image $BINARIES_DIR/airpanel-rpi4.img"
