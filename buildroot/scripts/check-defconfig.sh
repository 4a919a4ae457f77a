#!/bin/sh
# Checks an Airpanel defconfig against a Buildroot source tree, offline: runs Buildroot's
# kconfig with this external tree and reports every line of the defconfig that did not
# survive into .config (unknown symbol, unmet dependency, wrong choice). Downloads nothing.
#   scripts/check-defconfig.sh BUILDROOT_DIR [DEFCONFIG_NAME]
set -eu

BR_DIR=${1:?usage: check-defconfig.sh BUILDROOT_DIR [DEFCONFIG_NAME]}
NAME=${2:-airpanel_x86_64_defconfig}
EXT_DIR=$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd)
OUT=$(mktemp -d "${TMPDIR:-/tmp}/airpanel-kconfig.XXXXXX")
trap 'rm -rf "$OUT"' EXIT

make -s -C "$BR_DIR" O="$OUT" BR2_EXTERNAL="$EXT_DIR" "$NAME" >"$OUT/log" 2>&1 || { cat "$OUT/log" >&2; exit 1; }
if grep -i -E 'warning|unmet' "$OUT/log" >&2; then status=1; else status=0; fi

while IFS= read -r line; do
	case $line in
	'' | '#'*) continue ;;
	esac
	if ! grep -qxF "$line" "$OUT/.config"; then
		echo "not applied: $line (got: $(grep "^${line%%=*}=" "$OUT/.config" || echo unset))" >&2
		status=1
	fi
done <"$EXT_DIR/configs/$NAME"
# "is not set" lines: the symbol must be unset.
grep '^# BR2_.* is not set$' "$EXT_DIR/configs/$NAME" | while IFS= read -r line; do
	sym=${line#\# }
	sym=${sym% is not set}
	if grep -q "^$sym=y" "$OUT/.config"; then echo "still set: $sym" >&2; exit 1; fi
done || status=1

[ "$status" -eq 0 ] && echo "$NAME: every line applies against Buildroot $(sed -n 's/^export BR2_VERSION := //p' "$BR_DIR/Makefile")"
exit "$status"
