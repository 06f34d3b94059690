import { execa } from 'execa';
import { mkdir, rm, statfs } from 'node:fs/promises';
import { join } from 'node:path';

/** A small ext4 file system, loop-mounted: where a test makes a disk run out. */
export interface SmallDisk {
  mountPoint: string;
  /** The loop device, as /proc/self/mountinfo names the source. */
  device: string;
  freeBytes(): Promise<number>;
  /** Fills it up to `leaveBytes` free (about: ext4 allocates in blocks). */
  fill(leaveBytes?: number): Promise<void>;
  unfill(): Promise<void>;
  dispose(): Promise<void>;
}

/** Makes an ext4 of `mib` MiB (no blocks reserved for root) and mounts it on `mountPoint`. */
export async function smallDisk(mountPoint: string, mib: number): Promise<SmallDisk> {
  const image = `${mountPoint}.img`;
  await execa('truncate', ['-s', `${mib}M`, image]);
  await execa('mkfs.ext4', ['-q', '-F', '-m', '0', image]);
  await mkdir(mountPoint, { recursive: true });
  await execa('mount', ['-o', 'loop', image, mountPoint]);
  const { stdout } = await execa('findmnt', ['-n', '-o', 'SOURCE', mountPoint]);
  const filler = join(mountPoint, '.test-filler');
  const freeBytes = async () => {
    const s = await statfs(mountPoint);
    return s.bavail * s.bsize;
  };
  return {
    mountPoint,
    device: stdout.trim(),
    freeBytes,
    async fill(leaveBytes = 0) {
      const bytes = (await freeBytes()) - leaveBytes;
      if (bytes > 0) await execa('fallocate', ['-l', String(bytes), filler]);
    },
    unfill: () => rm(filler, { force: true }),
    async dispose() {
      await execa('umount', [mountPoint]).catch(() => execa('umount', ['-l', mountPoint]));
      await rm(image, { force: true });
    },
  };
}
