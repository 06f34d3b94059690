import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { assetPath } from '../install.js';
import { inKit, KitPath } from './layout.js';

/** Where the kit keeps what boots an image that has no init of its own. */
export const KitBoot = {
  init: 'libexec/banger-init',
  network: 'libexec/banger-network',
} as const;

/** The kernel command line that boots a pulled image through the kit (disk /dev/vdc). */
export function kitCmdline(device: string): string[] {
  return [`banger.kit=${device}`, `init=${inKit(KitBoot.init)}`];
}

/**
 * PID 1 of an image booted with the kit (as `docker run` runs a container: the image's own
 * init, if any, is not used). banger's initramfs has mounted the root, the work disk at
 * /root, a /run tmpfs and the kit, and configured the network. This mounts the kernel's
 * file systems, starts the kit's sshd (which announces readiness on the console), then
 * becomes a sleep whose SIGCHLD is ignored: the kernel reaps every orphan, so none stays a
 * zombie, and no process here has to loop.
 */
export function initScript(): string {
  const bb = inKit(KitPath.busybox);
  return `#!${bb} sh
# banger guest kit: PID 1 for a pulled image (see src/guest/kit/boot-files.ts).
bb=${bb}
$bb mount -t proc proc /proc 2>/dev/null
$bb mount -t sysfs sysfs /sys 2>/dev/null
$bb mkdir -p /dev/pts /dev/shm 2>/dev/null
$bb mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts 2>/dev/null
$bb mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /dev/shm 2>/dev/null
[ -d /tmp ] || $bb mkdir -m 1777 /tmp 2>/dev/null
export PATH=${inKit(KitPath.bin)}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
${inKit(KitPath.startSshd)} || echo "banger-kit: sshd did not start" > /dev/ttyS0
trap '' CHLD
exec $bb sleep 2147483647
`;
}

/** Writes the boot files into an assembled kit tree. */
export async function writeKitBootFiles(kit: string): Promise<void> {
  await writeFile(join(kit, KitBoot.init), initScript(), { mode: 0o755 });
  await writeFile(join(kit, KitBoot.network), await readFile(assetPath('banger-network')), {
    mode: 0o755,
  });
}
