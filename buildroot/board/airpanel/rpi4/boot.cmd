# Airpanel A/B boot on the Raspberry Pi 4, for RAUC's uboot backend. The variables live in
# uboot.env on the boot partition (Linux edits them with fw_setenv, /etc/fw_env.config):
#   BOOT_ORDER               slots in order of preference ("A B" or "B A")
#   BOOT_A_LEFT BOOT_B_LEFT  boot attempts left; `rauc status mark-good` refills them,
#                            `rauc install` puts the new slot first with fresh attempts.
# Each boot of a slot uses one attempt; a slot that is never confirmed (app never healthy,
# watchdog reset, start-limit reboot) runs out and U-Boot boots the other one.
# Compiled into boot.scr by Buildroot (BR2_PACKAGE_HOST_UBOOT_TOOLS_BOOT_SCRIPT).

test -n "${BOOT_ORDER}" || setenv BOOT_ORDER "A B"
test -n "${BOOT_A_LEFT}" || setenv BOOT_A_LEFT 3
test -n "${BOOT_B_LEFT}" || setenv BOOT_B_LEFT 0

setenv rauc_slot
for BOOT_SLOT in "${BOOT_ORDER}"; do
	if test "x${rauc_slot}" = "x"; then
		if test "x${BOOT_SLOT}" = "xA" && test ${BOOT_A_LEFT} -gt 0; then
			setexpr BOOT_A_LEFT ${BOOT_A_LEFT} - 1
			setenv rauc_slot A
			setenv root_part 2
			setenv root_uuid 9ef7c0ca-0f8d-4226-9625-26c9574eba0e
		elif test "x${BOOT_SLOT}" = "xB" && test ${BOOT_B_LEFT} -gt 0; then
			setexpr BOOT_B_LEFT ${BOOT_B_LEFT} - 1
			setenv rauc_slot B
			setenv root_part 3
			setenv root_uuid 95be1338-e22e-4529-93a2-3c68a04084fb
		fi
	fi
done

if test "x${rauc_slot}" = "x"; then
	# Every slot used up its attempts: refill the first one and start over (a panel that keeps
	# trying beats a dark one; the watchdog bounds each try).
	echo "Airpanel: no slot has attempts left, resetting A"
	setenv BOOT_A_LEFT 3
	saveenv
	reset
fi

saveenv

setenv bootargs "root=PARTUUID=${root_uuid} rootfstype=ext4 ro rootwait rauc.slot=${rauc_slot} quiet loglevel=3 panic=10 systemd.gpt_auto=0 vt.global_cursor_default=0 consoleblank=0"
echo "Airpanel: booting slot ${rauc_slot} (A left ${BOOT_A_LEFT}, B left ${BOOT_B_LEFT})"
load mmc 0:${root_part} ${kernel_addr_r} /boot/Image
# The device tree the Pi firmware prepared (with the overlays of config.txt) is at ${fdt_addr}.
booti ${kernel_addr_r} - ${fdt_addr}
