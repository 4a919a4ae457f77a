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
	xlib_libXdamage xlib_libXext xlib_libXfixes xlib_libXrandr

# Everything readable, nothing writable: /opt/airpanel sits in the read-only root anyway.
# Buildroot's own files (.stamp_*, .br_*, .files-list*) in $(@D) are not part of the app.
define AIRPANEL_INSTALL_TARGET_CMDS
	test -x $(@D)/airpanel || { echo "airpanel: no executable 'airpanel' in $(AIRPANEL_SITE)"; exit 1; }
	rm -rf $(TARGET_DIR)/opt/airpanel
	mkdir -p $(TARGET_DIR)/opt/airpanel
	rsync -a --exclude='.stamp_*' --exclude='.br_*' --exclude='.files-list*' \
		--exclude='.applied_patches_list' $(@D)/ $(TARGET_DIR)/opt/airpanel/
	chmod -R u+rwX,go+rX,go-w $(TARGET_DIR)/opt/airpanel
endef

# chrome-sandbox must be setuid root for Chromium's setuid sandbox, the fallback when the
# kernel does not allow unprivileged user namespaces (the kernel config allows them, so
# Chromium normally uses the namespace sandbox and the helper stays unused).
define AIRPANEL_PERMISSIONS
	/opt/airpanel d 755 0 0 - - - - -
	/opt/airpanel/airpanel f 755 0 0 - - - - -
	/opt/airpanel/chrome-sandbox f 4755 0 0 - - - - -
endef

$(eval $(generic-package))
