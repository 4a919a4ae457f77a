#!/bin/sh
# Sourced by both boards' post-image.sh: VERSION, the version of the image and its RAUC
# bundle. AIRPANEL_IMAGE_VERSION (buildroot/Makefile and `npm run image` set it; never
# AIRPANEL_VERSION, which inside Buildroot is package airpanel's version variable), else the
# build date.
# shellcheck disable=SC2034 # VERSION is read by the script that sources this one
if [ -n "${AIRPANEL_IMAGE_VERSION:-}" ]; then
	VERSION=$AIRPANEL_IMAGE_VERSION
else
	VERSION=$(date -u +%Y.%m.%d)
fi
