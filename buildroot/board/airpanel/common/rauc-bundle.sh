#!/bin/sh
# Signs a RAUC update bundle of BINARIES_DIR/rootfs.ext4 (kernel included, in /boot):
#   rauc-bundle.sh BINARIES_DIR TARGET_DIR NAME VERSION
# → BINARIES_DIR/NAME-VERSION.raucb, compatible taken from TARGET_DIR/etc/rauc/system.conf.
# Key and certificate: AIRPANEL_RAUC_KEY, AIRPANEL_RAUC_CERT (files or PKCS#11 URIs),
# optional AIRPANEL_RAUC_KEYRING to check the signature right away. Called by post-image.sh.
set -eu

BINARIES_DIR=${1:?usage: rauc-bundle.sh BINARIES_DIR TARGET_DIR NAME VERSION}
TARGET_DIR=${2:?}
NAME=${3:?}
VERSION=${4:?}
: "${AIRPANEL_RAUC_KEY:?}" "${AIRPANEL_RAUC_CERT:?}"

if [ -n "${HOST_DIR:-}" ] && [ -x "$HOST_DIR/bin/rauc" ]; then RAUC=$HOST_DIR/bin/rauc; else RAUC=rauc; fi

compatible=$(sed -n 's/^compatible=//p' "$TARGET_DIR/etc/rauc/system.conf")
[ -n "$compatible" ] || { echo "rauc-bundle: no compatible= in $TARGET_DIR/etc/rauc/system.conf" >&2; exit 1; }

work=$(mktemp -d "${BUILD_DIR:-${TMPDIR:-/tmp}}/airpanel-bundle.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir "$work/bundle"
cp --sparse=always "$BINARIES_DIR/rootfs.ext4" "$work/bundle/rootfs.ext4"
cat >"$work/bundle/manifest.raucm" <<MANIFEST
[update]
compatible=$compatible
version=$VERSION

[bundle]
format=verity

[image.rootfs]
filename=rootfs.ext4
MANIFEST

bundle="$BINARIES_DIR/$NAME-$VERSION.raucb"
rm -f "$bundle"
set -- --cert "$AIRPANEL_RAUC_CERT" --key "$AIRPANEL_RAUC_KEY"
if [ -n "${AIRPANEL_RAUC_KEYRING:-}" ]; then set -- "$@" --keyring "$AIRPANEL_RAUC_KEYRING"; fi
"$RAUC" bundle "$@" "$work/bundle" "$bundle"
echo "rauc-bundle: $bundle"
