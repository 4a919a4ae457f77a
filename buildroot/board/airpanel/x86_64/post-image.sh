#!/bin/sh
# Buildroot post-image script (BR2_ROOTFS_POST_IMAGE_SCRIPT) of the x86_64 UEFI panel:
#   post-image.sh BINARIES_DIR
# with BINARIES_DIR/efi-part/EFI/BOOT/bootx64.efi (GRUB) and BINARIES_DIR/rootfs.ext4 built.
# Writes grub.cfg + grubenv into the ESP tree, assembles BINARIES_DIR/airpanel-x86_64.img
# with genimage, and, when AIRPANEL_RAUC_KEY and AIRPANEL_RAUC_CERT are set, signs a RAUC
# update bundle of the root filesystem.
#
# Environment: TARGET_DIR (for the RAUC compatible), HOST_DIR (tools; else PATH),
# AIRPANEL_{EFI,SLOT,DATA}_SIZE, AIRPANEL_IMAGE_VERSION, AIRPANEL_RAUC_{KEY,CERT,KEYRING}.
set -eu

BOARD_DIR=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)
BINARIES_DIR=${1:-${BINARIES_DIR:?usage: post-image.sh BINARIES_DIR}}
: "${TARGET_DIR:?TARGET_DIR must be set (Buildroot sets it)}"

export AIRPANEL_EFI_SIZE="${AIRPANEL_EFI_SIZE:-64M}"
export AIRPANEL_SLOT_SIZE="${AIRPANEL_SLOT_SIZE:-1024M}"
export AIRPANEL_DATA_SIZE="${AIRPANEL_DATA_SIZE:-512M}"
# shellcheck source-path=SCRIPTDIR source=../common/image-version.sh
. "$BOARD_DIR/../common/image-version.sh"

tool() { # name: the Buildroot host tool if built, else the one on PATH
	if [ -n "${HOST_DIR:-}" ] && [ -x "$HOST_DIR/bin/$1" ]; then
		echo "$HOST_DIR/bin/$1"
	elif [ -n "${HOST_DIR:-}" ] && [ -x "$HOST_DIR/sbin/$1" ]; then
		echo "$HOST_DIR/sbin/$1"
	else
		command -v "$1" || { echo "post-image: $1 not found" >&2; exit 1; }
	fi
}

[ -f "$BINARIES_DIR/efi-part/EFI/BOOT/bootx64.efi" ] || { echo "post-image: no GRUB EFI image in $BINARIES_DIR/efi-part" >&2; exit 1; }
[ -f "$BINARIES_DIR/rootfs.ext4" ] || { echo "post-image: no $BINARIES_DIR/rootfs.ext4" >&2; exit 1; }

# GRUB configuration and its environment block (exactly 1024 bytes: GRUB cannot grow it).
# First boot: slot A is good, B is empty.
install -m 0644 "$BOARD_DIR/grub.cfg" "$BINARIES_DIR/efi-part/EFI/BOOT/grub.cfg"
grubenv="$BINARIES_DIR/efi-part/EFI/BOOT/grubenv"
{
	printf '# GRUB Environment Block\n'
	printf 'ORDER=A B\nA_OK=1\nA_TRY=0\nB_OK=0\nB_TRY=0\n'
} >"$grubenv.tmp"
used=$(wc -c <"$grubenv.tmp")
head -c $((1024 - used)) /dev/zero | tr '\0' '#' >>"$grubenv.tmp"
mv "$grubenv.tmp" "$grubenv"

# The disk image. genimage needs a root path even though every image here has its content.
work=$(mktemp -d "${BUILD_DIR:-${TMPDIR:-/tmp}}/airpanel-genimage.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/root"
"$(tool genimage)" \
	--rootpath "$work/root" \
	--tmppath "$work/tmp" \
	--inputpath "$BINARIES_DIR" \
	--outputpath "$BINARIES_DIR" \
	--config "$BOARD_DIR/genimage.cfg"

# The signed RAUC bundle (an update of both kernel and root: the kernel is in /boot).
if [ -n "${AIRPANEL_RAUC_KEY:-}" ] && [ -n "${AIRPANEL_RAUC_CERT:-}" ]; then
	"$BOARD_DIR/../common/rauc-bundle.sh" "$BINARIES_DIR" "$TARGET_DIR" airpanel-x86_64 "$VERSION"
fi
echo "post-image: disk image $BINARIES_DIR/airpanel-x86_64.img"
