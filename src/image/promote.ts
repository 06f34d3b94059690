import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DebugfsScript, debugfsStat, runDebugfs } from '../disk/debugfs.js';
import { FIRST_BOOT_MARKER } from '../guest/install.js';
import type { Runner } from '../system/runner.js';
import { replayJournal } from '../vm/disks.js';

const HOST_KEYS = ['ed25519', 'rsa', 'ecdsa', 'dsa'].flatMap((kind) => [
  `/etc/ssh/ssh_host_${kind}_key`,
  `/etc/ssh/ssh_host_${kind}_key.pub`,
]);

/**
 * A VM's flattened system disk carries that VM's identity: its ssh host key, its
 * machine-id, and no first-boot marker (it ran). Every VM booted from the promoted image
 * must get its own again, as from the golden image: the keys go, the machine-id is emptied
 * and the marker is back. The journal is replayed first (debugfs ignores it).
 */
export async function resetIdentity(rootfs: string, runner: Runner): Promise<void> {
  await replayJournal(rootfs, runner);
  const script = new DebugfsScript();
  for (const key of HOST_KEYS) if (await debugfsStat(rootfs, key, runner)) script.rm(key);
  const scratch = await mkdtemp(join(tmpdir(), 'banger-promote-'));
  try {
    const empty = join(scratch, 'empty');
    await writeFile(empty, '');
    if (await debugfsStat(rootfs, '/etc/machine-id', runner)) script.rm('/etc/machine-id');
    script
      .write(empty, '/etc/machine-id')
      .setOwner('/etc/machine-id', 0, 0)
      .setMode('/etc/machine-id', 0o100444);
    const marker = `/${FIRST_BOOT_MARKER}`;
    if (!(await debugfsStat(rootfs, '/var/lib/banger', runner))) script.mkdir('/var/lib/banger');
    if (!(await debugfsStat(rootfs, marker, runner)))
      script.write(empty, marker).setOwner(marker, 0, 0).setMode(marker, 0o100644);
    await runDebugfs(rootfs, script, runner);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
