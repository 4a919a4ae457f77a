# Airpanel A/B boot on the Raspberry Pi 4, for RAUC's uboot backend. The variables live in
# the U-Boot environment on the boot partition: uboot.env and its redundant copy
# uboot-redund.env (U-Boot writes the older of the two, so a power cut during saveenv leaves
# the other one intact; Linux edits them with fw_setenv, /etc/fw_env.config):
#   BOOT_ORDER               slots in order of preference ("A B" or "B A")
#   BOOT_A_LEFT BOOT_B_LEFT  boot attempts left; `rauc status mark-good` refills them,
#                            `rauc install` puts the new slot first with fresh attempts.
#   MACHINE_ID               the panel's /etc/machine-id (airpanel-machine-id writes it at the
#                            first boot), passed as systemd.machine_id= (read-only root)
#   FACTORY_RESET            1 = wipe /data at this boot (airpanel-factory-reset sets it,
#                            airpanel-wipe-data clears it)
# Each boot of a slot uses one attempt, saved before the kernel is loaded (the only write
# per boot: counting needs it); a slot that is never confirmed (app never healthy, watchdog
# reset, start-limit reboot) runs out and U-Boot boots the other one. The kernel, its device
# tree and the overlays come from the slot's /boot, so an OS update changes them together;
# when any of them cannot be loaded or booted, the board resets and the next attempt counts.
# Compiled into boot.scr by Buildroot (BR2_PACKAGE_HOST_UBOOT_TOOLS_BOOT_SCRIPT).

test -n "${devtype}" || setenv devtype mmc
test -n "${devnum}" || setenv devnum 0
test -n "${fdtoverlay_addr_r}" || setenv fdtoverlay_addr_r 0x02680000
# The overlays config.txt names for the firmware (which only applies them to its own tree).
setenv airpanel_overlays "vc4-kms-v3d-pi4 disable-bt"

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
	# Every slot used up its attempts: refill both and start over in BOOT_ORDER (a panel that
	# keeps trying beats a dark one; the watchdog bounds each try, and a slot that cannot even
	# be loaded costs one reset per attempt).
	echo "Airpanel: no slot has attempts left, refilling both"
	setenv BOOT_A_LEFT 3
	setenv BOOT_B_LEFT 3
	saveenv
	reset
fi

# Until both copies exist (the first boot), save twice: U-Boot writes them alternately, and
# fw_setenv needs both.
if test -e ${devtype} ${devnum}:1 uboot-redund.env; then saveenv; else saveenv; saveenv; fi

# fsck.repair=yes: systemd-fsck repairs what a power cut left without asking anyone.
setenv bootargs "root=PARTUUID=${root_uuid} rootfstype=ext4 ro rootwait fsck.repair=yes rauc.slot=${rauc_slot} quiet loglevel=3 panic=10 systemd.gpt_auto=0 vt.global_cursor_default=0 consoleblank=0"
if test -n "${MACHINE_ID}"; then setenv bootargs "${bootargs} systemd.machine_id=${MACHINE_ID}"; fi
if test "x${FACTORY_RESET}" = "x1"; then setenv bootargs "${bootargs} airpanel.factory_reset=1"; fi
echo "Airpanel: booting slot ${rauc_slot} (A left ${BOOT_A_LEFT}, B left ${BOOT_B_LEFT})"

load ${devtype} ${devnum}:${root_part} ${kernel_addr_r} /boot/Image || reset
# ${fdtfile} is the tree U-Boot chose for this board (e.g. broadcom/bcm2711-rpi-4-b.dtb);
# U-Boot copies the firmware's per-board fixups (memory, SoC revision dma-ranges) into it.
load ${devtype} ${devnum}:${root_part} ${fdt_addr_r} /boot/${fdtfile} || reset
fdt addr ${fdt_addr_r}
fdt resize 65536
for overlay in ${airpanel_overlays}; do
	load ${devtype} ${devnum}:${root_part} ${fdtoverlay_addr_r} /boot/overlays/${overlay}.dtbo || reset
	fdt apply ${fdtoverlay_addr_r} || reset
done
booti ${kernel_addr_r} - ${fdt_addr_r}
echo "Airpanel: booti returned, resetting"
reset
