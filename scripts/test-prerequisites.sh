#!/usr/bin/env bash
# Runs before `npm test` (the `pretest` hook): makes sure the Debian tools the tests drive for
# real are present — Chromium for the renderer, Mosquitto for the external broker, genimage,
# mtools, e2fsprogs… for the image — and installs the missing ones with apt-get when it can
# (root, or password-less sudo). Otherwise it stops with the exact command to run.
# `--boot` (npm run test:boot) also needs what builds the Debian image and boots it in QEMU;
# `npm test` does not boot anything and does not ask for those.
set -euo pipefail

# command → Debian package that provides it
declare -A needs=(
  [chromium]=chromium
  [mosquitto]=mosquitto
  [genimage]=genimage
  [mcopy]=mtools
  [debugfs]=e2fsprogs
  [mkfs.vfat]=dosfstools
  [fakeroot]=fakeroot
  [sfdisk]=fdisk
  [shellcheck]=shellcheck
  [systemd-analyze]=systemd
  [rauc]=rauc
  [mksquashfs]=squashfs-tools
  [ansible-playbook]=ansible-core
  [grub-editenv]=grub-common
  [mkimage]=u-boot-tools
  [fw_setenv]=libubootenv-tool
  [openssl]=openssl
  [socat]=socat
)
if [ "${1:-}" = "--boot" ]; then
  needs+=(
    [qemu-system-x86_64]=qemu-system-x86
    [qemu-img]=qemu-utils
    [mmdebstrap]=mmdebstrap
  )
  # OVMF is firmware files, not a command.
  [ -e /usr/share/OVMF/OVMF_CODE_4M.fd ] || [ -e /usr/share/OVMF/OVMF_CODE.fd ] || needs[ovmf-firmware-files]=ovmf
fi
missing=()
for cmd in "${!needs[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$cmd" ] || [ -x "/sbin/$cmd" ] || missing+=("${needs[$cmd]}")
done
[ "${#missing[@]}" -eq 0 ] && exit 0

# Sorted and unique, so the message is stable.
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
echo "test prerequisites: installing Debian packages: ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  SUDO=(sudo -n)
else
  echo "test prerequisites: cannot install as $(id -un); run:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
"${SUDO[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
echo "test prerequisites: installed ${missing[*]}"
