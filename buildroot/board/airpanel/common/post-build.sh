#!/bin/sh
# Buildroot post-build script (BR2_ROOTFS_POST_BUILD_SCRIPT), run with TARGET_DIR set, before
# the root filesystem image is made. Shared by every Airpanel board.
set -eu

TARGET_DIR=${TARGET_DIR:-${1:?usage: post-build.sh TARGET_DIR}}

# Mount points in the read-only root: the Where= of every mount unit of the overlays (data,
# and the board's boot partition: /boot/efi, /boot/firmware). Nothing can create them at boot.
for mount in "$TARGET_DIR"/etc/systemd/system/*.mount; do
	[ -e "$mount" ] || continue
	where=$(sed -n 's/^Where=//p' "$mount")
	case $where in
	/?*) mkdir -p "$TARGET_DIR$where" ;;
	*) echo "post-build: no absolute Where= in $mount" >&2; exit 1 ;;
	esac
done

# The journal goes to the data partition: /var/log/journal becomes a symlink at boot
# (tmpfiles.d/airpanel-journal.conf); no directory of that name in the /var factory.
rm -rf "$TARGET_DIR/var/log/journal"

# The RAUC keyring: the certificate (chain) update bundles must be signed with.
if [ -n "${AIRPANEL_RAUC_KEYRING:-}" ]; then
	install -D -m 0644 "$AIRPANEL_RAUC_KEYRING" "$TARGET_DIR/etc/rauc/keyring.pem"
fi
if [ ! -s "$TARGET_DIR/etc/rauc/keyring.pem" ]; then
	echo "post-build: no RAUC keyring: set AIRPANEL_RAUC_KEYRING to the update signing certificate" >&2
	exit 1
fi

# The kiosk unit starts the OTA loader, which falls back to the factory bundle (package
# airpanel installs both): without them the panel would boot to a black screen.
# AIRPANEL_HOST_FILES: the host's runtime and loader files (default: the Electron runtime of
# package airpanel, whose app is the loader; the Debian image of image/ passes its Node host's).
# shellcheck disable=SC2086 # a list of paths without spaces
for f in ${AIRPANEL_HOST_FILES:-/opt/airpanel/airpanel /opt/airpanel/resources/app/main.mjs /opt/airpanel/resources/app/runtime.json} \
	/usr/lib/airpanel/factory/bundle.json /usr/lib/airpanel/host.env; do
	if [ ! -s "$TARGET_DIR$f" ]; then
		echo "post-build: $f is missing: airpanel.service could not start the app (package airpanel)" >&2
		exit 1
	fi
done

# The release floor (package airpanel; image/rootfs.ts for the Debian image): without it a
# fresh or wiped panel would take any old, validly signed manifest.
if [ ! -s "$TARGET_DIR/usr/lib/airpanel/release-floor.json" ]; then
	echo "post-build: /usr/lib/airpanel/release-floor.json is missing: the image must ship its release floor (make -C buildroot release-floor)" >&2
	exit 1
fi

# Boot into the kiosk: no login prompt on any console, no password login for anyone.
rm -f "$TARGET_DIR/etc/systemd/system/getty.target.wants/"getty@*.service \
	"$TARGET_DIR/etc/systemd/system/getty.target.wants/"serial-getty@*.service
mkdir -p "$TARGET_DIR/etc/systemd/system"
ln -sfn /dev/null "$TARGET_DIR/etc/systemd/system/getty@.service"
ln -sfn /dev/null "$TARGET_DIR/etc/systemd/system/serial-getty@.service"
ln -sfn /usr/lib/systemd/system/multi-user.target "$TARGET_DIR/etc/systemd/system/default.target"

# Electron links libcups, so package cups is in the image with its daemon, whose units the
# presets would enable (systemctl preset-all when the root filesystem image is made): a kiosk
# prints nothing and must listen on no port (631). Masked, so no preset or socket starts them.
for unit in cups.service cups.socket cups.path cups-browsed.service; do
	ln -sfn /dev/null "$TARGET_DIR/etc/systemd/system/$unit"
done

# Enable the Airpanel units (what `systemctl enable` would do; the overlay cannot hold
# symlinks portably).
enable_unit() { # unit target
	mkdir -p "$TARGET_DIR/etc/systemd/system/$2.wants"
	ln -sfn "../$1" "$TARGET_DIR/etc/systemd/system/$2.wants/$1"
}
# Every mount unit of the overlays: data.mount, and the board's boot partition.
for mount in "$TARGET_DIR"/etc/systemd/system/*.mount; do
	[ -e "$mount" ] && enable_unit "${mount##*/}" local-fs.target
done
enable_unit airpanel.service multi-user.target
enable_unit airpanel-mark-good.service multi-user.target
mkdir -p "$TARGET_DIR/etc/systemd/system/multi-user.target.wants"
ln -sfn /usr/lib/systemd/system/seatd.service "$TARGET_DIR/etc/systemd/system/multi-user.target.wants/seatd.service"

# Where the technician's guide lives on the panel.
if [ -n "${BR2_EXTERNAL_AIRPANEL_PATH:-}" ]; then
	install -D -m 0644 "$BR2_EXTERNAL_AIRPANEL_PATH/README.md" "$TARGET_DIR/usr/share/doc/airpanel/README.md"
fi
