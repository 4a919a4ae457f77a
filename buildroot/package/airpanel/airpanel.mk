################################################################################
#
# airpanel
#
################################################################################

# The app is built outside Buildroot (electron-builder, see ../../Makefile) and copied in.
AIRPANEL_VERSION = $(shell sed -n 's/^  "version": "\(.*\)",$$/\1/p' $(BR2_EXTERNAL_AIRPANEL_PATH)/../package.json)
AIRPANEL_SITE = $(call qstrip,$(BR2_PACKAGE_AIRPANEL_APP_DIR))
AIRPANEL_SITE_METHOD = local
AIRPANEL_LICENSE = Proprietary (app), MIT (Electron), BSD-3-Clause and others (Chromium)
AIRPANEL_LICENSE_FILES = LICENSE.electron.txt LICENSES.chromium.html
AIRPANEL_DEPENDENCIES = \
	alsa-lib at-spi2-core cairo cups dbus expat fontconfig libdrm libglib2 \
	libgtk3 libnss libxkbcommon pango libxcb xlib_libX11 xlib_libXcomposite \
	xlib_libXdamage xlib_libXext xlib_libXfixes xlib_libXrandr udev

AIRPANEL_LOADER_DIR = $(call qstrip,$(BR2_PACKAGE_AIRPANEL_LOADER_DIR))
AIRPANEL_FACTORY_DIR = $(call qstrip,$(BR2_PACKAGE_AIRPANEL_FACTORY_BUNDLE_DIR))
AIRPANEL_KEYRING_FILE = $(call qstrip,$(BR2_PACKAGE_AIRPANEL_RELEASE_KEYS))
AIRPANEL_FLOOR_FILE = $(call qstrip,$(BR2_PACKAGE_AIRPANEL_RELEASE_FLOOR))

# The runtime: electron-builder's directory, but its app.asar (the app frozen at build time)
# replaced by the runtime app (src-main/loader/runtime-app, built by src-main/loader/build.ts):
# the OTA loader in its loader role, and in its release role the launch-time verifier that
# checks a release (by name, under the paths of its runtime.json) before it imports it. A
# packaged Electron always runs resources/app, and with the RunAsNode fuse off nothing else:
# the app itself is the factory bundle (/usr/lib/airpanel/factory) or a verified OTA release.
# Everything readable, nothing writable: it all sits in the read-only root anyway.
# Buildroot's own files (.stamp_*, .br_*, .files-list*) in $(@D) are not part of the app.
AIRPANEL_RUNTIME_APP_FILES = package.json main.mjs runtime.json
define AIRPANEL_INSTALL_RUNTIME
	test -x $(@D)/airpanel || { echo "airpanel: no executable 'airpanel' in $(AIRPANEL_SITE)"; exit 1; }
	for f in $(AIRPANEL_RUNTIME_APP_FILES); do \
		test -s $(AIRPANEL_LOADER_DIR)/runtime-app/$$f || \
			{ echo "airpanel: no runtime-app/$$f in $(AIRPANEL_LOADER_DIR) (npx tsx src-main/loader/build.ts)"; exit 1; }; \
	done
	rm -rf $(TARGET_DIR)/opt/airpanel
	mkdir -p $(TARGET_DIR)/opt/airpanel
	rsync -a --exclude='.stamp_*' --exclude='.br_*' --exclude='.files-list*' \
		--exclude='.applied_patches_list' --exclude='/resources/app.asar' \
		--exclude='/resources/app.asar.unpacked' --exclude='/resources/app' \
		$(@D)/ $(TARGET_DIR)/opt/airpanel/
	mkdir -p $(TARGET_DIR)/opt/airpanel/resources/app
	$(INSTALL) -m 0644 $(addprefix $(AIRPANEL_LOADER_DIR)/runtime-app/,$(AIRPANEL_RUNTIME_APP_FILES)) \
		$(TARGET_DIR)/opt/airpanel/resources/app/
	chmod -R u+rwX,go+rX,go-w $(TARGET_DIR)/opt/airpanel
endef

# The factory bundle the loader falls back to, and host.env: airpanel.service's Electron-host
# settings (the unit is shared with the Debian image). No /usr/lib/airpanel/loader: that is the
# Node host's loader; here the runtime app is the loader.
define AIRPANEL_INSTALL_FACTORY
	test -s $(AIRPANEL_FACTORY_DIR)/bundle.json || \
		{ echo "airpanel: no factory bundle (bundle.json) in $(AIRPANEL_FACTORY_DIR) (see buildroot/Makefile, target app)"; exit 1; }
	rm -rf $(TARGET_DIR)/usr/lib/airpanel/loader $(TARGET_DIR)/usr/lib/airpanel/factory
	$(INSTALL) -D -m 0644 $(AIRPANEL_PKGDIR)/host.env $(TARGET_DIR)/usr/lib/airpanel/host.env
	mkdir -p $(TARGET_DIR)/usr/lib/airpanel/factory
	rsync -a $(AIRPANEL_FACTORY_DIR)/ $(TARGET_DIR)/usr/lib/airpanel/factory/
	chmod -R u+rwX,go+rX,go-w $(TARGET_DIR)/usr/lib/airpanel
endef

# The keyring of trusted OTA release keys. Without it the app turns OTA off, so a production
# image must not be built without one by accident: empty: error; "none": a development image.
define AIRPANEL_INSTALL_RELEASE_KEYS
	rm -f $(TARGET_DIR)/usr/lib/airpanel/release-keys.json
	if [ "$(AIRPANEL_KEYRING_FILE)" = "none" ]; then \
		echo "airpanel: WARNING: no release keys (BR2_PACKAGE_AIRPANEL_RELEASE_KEYS=none): OTA updates are off in this image"; \
	elif [ -z "$(AIRPANEL_KEYRING_FILE)" ]; then \
		echo "airpanel: no trusted release keys: set BR2_PACKAGE_AIRPANEL_RELEASE_KEYS (or AIRPANEL_RELEASE_KEYRING) to the keyring of 'tools/release/cli.ts keygen --keyring', or to 'none' for a development image without OTA"; \
		exit 1; \
	elif ! grep -q '"publicKey"' "$(AIRPANEL_KEYRING_FILE)"; then \
		echo "airpanel: $(AIRPANEL_KEYRING_FILE) is missing or not a release keyring ({ \"keys\": [{ \"keyId\", \"publicKey\" }] })"; \
		exit 1; \
	else \
		$(INSTALL) -D -m 0644 "$(AIRPANEL_KEYRING_FILE)" $(TARGET_DIR)/usr/lib/airpanel/release-keys.json; \
	fi
endef

# The release floor (highest counter signed, factory version): without it a wiped panel would
# take any old, validly signed manifest. Made by ../../Makefile (target release-floor), which
# checked it with zod; here only that it is there and is one.
define AIRPANEL_INSTALL_RELEASE_FLOOR
	rm -f $(TARGET_DIR)/usr/lib/airpanel/release-floor.json
	grep -q '"format":"airpanel-release-floor/1"' "$(AIRPANEL_FLOOR_FILE)" || \
		{ echo "airpanel: $(AIRPANEL_FLOOR_FILE) is missing or not a release floor (make -C buildroot release-floor)"; exit 1; }
	$(INSTALL) -D -m 0644 "$(AIRPANEL_FLOOR_FILE)" $(TARGET_DIR)/usr/lib/airpanel/release-floor.json
endef

define AIRPANEL_INSTALL_TARGET_CMDS
	$(AIRPANEL_INSTALL_RUNTIME)
	$(AIRPANEL_INSTALL_FACTORY)
	$(AIRPANEL_INSTALL_RELEASE_KEYS)
	$(AIRPANEL_INSTALL_RELEASE_FLOOR)
endef

# chrome-sandbox is NOT setuid: Chromium sandboxes its renderers with unprivileged user
# namespaces, which the kernel config enables, and the kiosk unit runs with NoNewPrivileges=yes
# and RestrictSUIDSGID=yes. A setuid helper would be a root-owned entry point for nothing.
define AIRPANEL_PERMISSIONS
	/opt/airpanel d 755 0 0 - - - - -
	/opt/airpanel/airpanel f 755 0 0 - - - - -
	/opt/airpanel/chrome-sandbox f 755 0 0 - - - - -
	/usr/lib/airpanel d 755 0 0 - - - - -
endef

$(eval $(generic-package))
