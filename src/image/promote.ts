import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DebugfsScript, debugfsStat, runDebugfs } from '../disk/debugfs.js';
import { FIRST_BOOT_MARKER } from '../guest/install.js';
import { ImageFileName } from '../config/layout.js';
import { BangerError, ErrorCode } from '../errors.js';
import type { ImageRecord } from '../store/images.js';
import { newId, Staging } from '../system/atomic-publish.js';
import type { OpContext } from '../system/operation.js';
import type { Runner } from '../system/runner.js';
import type { ImageDeps } from './image-service.js';
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

export interface PromoteSource {
  vmName: string;
  systemDisk: string;
  imageId: string;
}

/**
 * A stopped VM's system disk as a new managed image: the qcow2 overlay flattened to a raw
 * ext4 in staging, its per-VM identity reset, published with the VM's kernel. The caller
 * holds the image name's lock and the VM's, and has checked the VM is not running.
 */
export async function promoteVmDisk(
  deps: Pick<ImageDeps, 'store' | 'layout' | 'runner' | 'config'>,
  source: PromoteSource,
  name: string,
  ctx: OpContext,
): Promise<ImageRecord> {
  const { store, layout, runner } = deps;
  if (store.images.findByName(name))
    throw new BangerError(ErrorCode.AlreadyExists, `image "${name}" already exists`, {
      hint: `"banger image rm ${name}" first, or pick another name`,
    });
  const base = store.images.findById(source.imageId);
  if (!base?.kernelId)
    throw new BangerError(ErrorCode.NotFound, `vm "${source.vmName}": its image or kernel is gone`);
  const id = newId();
  const staging = await Staging.create(layout.imagesDir, id);
  try {
    ctx.progress('flatten', `${source.vmName}'s system disk`);
    const rootfs = join(staging.dir, ImageFileName.rootfs);
    const qemuImg = deps.config.vmm.qemuImgBinary ?? 'qemu-img';
    await runner.run(qemuImg, ['convert', '-O', 'raw', source.systemDisk, rootfs], {
      signal: ctx.signal,
    });
    ctx.progress('identity', "removing the VM's ssh host keys and machine-id");
    await resetIdentity(rootfs, runner);
    ctx.signal.throwIfAborted();
    ctx.progress('publish', `image ${name}`);
    const sizeBytes = (await stat(rootfs)).size;
    return await staging.publishWith((dir) => {
      const record: ImageRecord = {
        id,
        name,
        managed: true,
        distro: base.distro,
        arch: base.arch,
        description: `promoted from vm ${source.vmName} (image ${base.name})`,
        source: `promote:${source.vmName}`,
        dir,
        rootfsFile: join(dir, ImageFileName.rootfs),
        sizeBytes,
        kernelId: base.kernelId,
        createdAt: new Date().toISOString(),
      };
      store.images.insert(record);
      return record;
    });
  } finally {
    await staging.discard();
  }
}
