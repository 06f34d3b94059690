import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CacheName, STAGING_SUFFIX, type Layout } from '../config/layout.js';
import { MiB } from '../config/size.js';
import { buildExt4, treeBytes } from '../disk/ext4.js';
import type { KernelRecord } from '../store/kernels.js';
import { KeyedMutex } from '../system/mutex.js';
import type { OpContext } from '../system/operation.js';
import type { Runner } from '../system/runner.js';

const building = new KeyedMutex();

/** The file a kernel's modules disk is kept in (one per kernel: kernels never change). */
export function modulesDiskPath(layout: Pick<Layout, 'cacheDir'>, kernel: KernelRecord): string {
  return join(layout.cacheDir, CacheName.kernelModules, `${kernel.id}.ext4`);
}

/**
 * A kernel's module tree as a read-only ext4, for guests whose image does not ship the
 * modules of banger's kernel (pulled images): banger's initramfs mounts it at
 * /lib/modules/<version>, so `modprobe` works in them as on the golden image. Made the first
 * time a VM needs it (~1 s for the cloud kernel's 92 MiB), published by rename, so one that
 * exists is whole. Undefined when the kernel came without a module tree.
 */
export async function ensureModulesDisk(
  layout: Pick<Layout, 'cacheDir'>,
  runner: Runner,
  kernel: KernelRecord,
  op: OpContext,
): Promise<string | undefined> {
  const tree = kernel.modulesDir;
  if (!tree) return undefined;
  const out = modulesDiskPath(layout, kernel);
  const have = () =>
    stat(out).then(
      (s) => s.isFile(),
      () => false,
    );
  if (await have()) return out;
  // One build at a time: what is staged in the directory then is a killed daemon's.
  return building.run('modules', async () => {
    if (await have()) return out;
    op.progress('modules', `kernel ${kernel.name}'s modules as a disk for the guest`);
    const dir = join(layout.cacheDir, CacheName.kernelModules);
    await mkdir(dir, { recursive: true });
    for (const name of await readdir(dir))
      if (name.endsWith(STAGING_SUFFIX)) await rm(join(dir, name), { force: true });
    const staged = `${out}.${randomBytes(4).toString('hex')}${STAGING_SUFFIX}`;
    try {
      await buildExt4(tree, staged, modulesDiskSize(await treeBytes(tree)), runner);
      await rename(staged, out);
    } finally {
      await rm(staged, { force: true });
    }
    return out;
  });
}

/** The content plus a fifth and room for the journal; read-only in the guest. */
export function modulesDiskSize(contentBytes: number): number {
  return Math.ceil(Math.max(contentBytes * 1.2 + 8 * MiB, 16 * MiB) / MiB) * MiB;
}

/** A deleted kernel's modules disk goes with it. */
export async function removeModulesDisk(
  layout: Pick<Layout, 'cacheDir'>,
  kernel: KernelRecord,
): Promise<void> {
  await rm(modulesDiskPath(layout, kernel), { force: true });
}
