/**
 * Units masked in the golden image. Every process start costs ~60 ms under TCG, so the
 * boot runs only what a banger VM needs (see ../shared/TCG-BOOT-FACTS.md for what each
 * group bought). udev is among them: nothing may wait on a device unit (see
 * banger-workdisk.service).
 */
export const MASKED_UNITS: readonly string[] = [
  // Periodic jobs: never on the boot path, but timesyncd once stalled a poweroff for 10 s.
  'apt-daily.timer',
  'apt-daily-upgrade.timer',
  'dpkg-db-backup.timer',
  'e2scrub_all.timer',
  'e2scrub_reap.service',
  'fstrim.timer',
  'systemd-tmpfiles-clean.timer',
  'systemd-timesyncd.service',
  // Consoles: root has no password; `banger vm ssh` is the way in.
  'getty@.service',
  'serial-getty@.service',
  'getty-static.service',
  'console-getty.service',
  // Not needed in a throwaway VM.
  'systemd-pstore.service',
  'systemd-networkd-wait-online.service',
  'modprobe@.service',
  'kmod-static-nodes.service',
  'systemd-random-seed.service',
  'systemd-update-utmp.service',
  'systemd-update-utmp-runlevel.service',
  'systemd-logind.service',
  'systemd-sysusers.service',
  'systemd-remount-fs.service',
  'systemd-journal-flush.service',
  'systemd-firstboot.service',
  'systemd-modules-load.service',
  'systemd-tmpfiles-setup-dev.service',
  'systemd-binfmt.service',
  'procps.service',
  'hwclock.service',
  'cryptdisks.service',
  'cryptdisks-early.service',
  // Pseudo file systems nobody uses here.
  'sys-kernel-debug.mount',
  'sys-kernel-tracing.mount',
  'sys-kernel-config.mount',
  'sys-fs-fuse-connections.mount',
  'dev-hugepages.mount',
  'dev-mqueue.mount',
  'proc-sys-fs-binfmt_misc.automount',
  'proc-sys-fs-binfmt_misc.mount',
  // udev: the initramfs loads the drivers; banger-network configures the NIC.
  'systemd-udevd.service',
  'systemd-udev-trigger.service',
  'systemd-udev-settle.service',
  'systemd-udevd-control.socket',
  'systemd-udevd-kernel.socket',
];

/**
 * systemd runs every generator as a process before it loads a unit (~1 s together under
 * TCG). None is needed: the initramfs mounts root, the work disk has its own unit, gettys
 * and SysV scripts are not used. Masked by name in /etc/systemd/system-generators.
 */
export const GENERATORS_DIR = 'usr/lib/systemd/system-generators';

/** PAM modules dropped from the login path: logind is masked, motd costs a process. */
export const PAM_EDITS: readonly { file: string; drop: RegExp }[] = [
  { file: 'etc/pam.d/common-session', drop: /pam_systemd\.so/ },
  { file: 'etc/pam.d/sshd', drop: /pam_motd\.so/ },
];
