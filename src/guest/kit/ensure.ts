import { readdir, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { CacheName, type Layout } from '../../config/layout.js';
import { KeyedMutex } from '../../system/mutex.js';
import type { OpContext } from '../../system/operation.js';
import type { Runner } from '../../system/runner.js';

const building = new KeyedMutex();

/**
 * The guest kit's disk in the state dir, built the first time a VM needs it (a VM from a
 * pulled image): one build at a time, published by rename, so a kit that exists is whole.
 */
export async function ensureGuestKit(
  layout: Layout,
  runner: Runner,
  op: OpContext,
): Promise<string> {
  const have = () =>
    stat(layout.guestKit).then(
      (s) => s.isFile() && s.size > 0,
      () => false,
    );
  if (await have()) return layout.guestKit;
  return building.run('kit', async () => {
    if (await have()) return layout.guestKit;
    op.progress('guest kit', "building banger's guest kit once: sshd, busybox, tmux, git, tar");
    const { buildGuestKit } = await import('./build.js');
    await buildGuestKit({
      outFile: layout.guestKit,
      workDir: join(layout.cacheDir, CacheName.build, 'guest-kit'),
      aptCacheDir: join(layout.cacheDir, CacheName.aptArchives),
      runner,
      signal: op.signal,
      progress: op.progress,
    });
    await removeOlderKits(layout.guestKit);
    return layout.guestKit;
  });
}

/** A new kit replaces the ones earlier banger versions made (guest-kit-N.ext4, N older). */
async function removeOlderKits(current: string): Promise<void> {
  const dir = dirname(current);
  for (const name of await readdir(dir))
    if (/^guest-kit-\d+\.ext4$/.test(name) && name !== basename(current))
      await rm(join(dir, name), { force: true });
}
