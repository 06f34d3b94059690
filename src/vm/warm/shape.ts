import { createHash } from 'node:crypto';
import type { Stats } from 'node:fs';
import { lstat, readdir, readlink, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { FileSyncEntry } from '../../config/schema.js';
import { hostPath } from '../file-sync.js';

// What a warm-start template must match for a new VM to resume it instead of booting: the
// same image and kernel, the same size, the same network mode, the same VMM build (saved
// device state loads only into the QEMU that wrote it), the same key banger logs in with,
// and the same [[file_sync]] content on the work disk. Anything else differing means
// another template; a template for a shape nobody asks for any more is just never matched.

/** Bumped when what a template holds, or how it is resumed, changes. */
export const TEMPLATE_FORMAT = 1;

export interface TemplateShape {
  format: number;
  imageId: string;
  kernelId: string;
  vcpu: number;
  memoryMiB: number;
  diskBytes: number;
  network: 'user' | 'tap';
  /** `qemu/tcg QEMU emulator version 7.2.22 (…)`: the driver, its accel and its build. */
  vmm: string;
  /** banger's public key (authorized in the template's work disk). */
  sshKey: string;
  /** A digest of the [[file_sync]] entries' host files as they are now. */
  fileSync: string;
  /**
   * A pulled image's: which guest kit and modules disk it ran with (their names, sizes and
   * mtimes). A resumed guest has them mounted, their blocks in its page cache: a kit that
   * was rebuilt since means another template.
   */
  guestDisks?: string;
}

/** The template's directory name: a digest of its whole shape. */
export function templateKey(shape: TemplateShape): string {
  const ordered = Object.fromEntries(Object.entries(shape).sort(([a], [b]) => a.localeCompare(b)));
  return createHash('sha256').update(JSON.stringify(ordered)).digest('hex').slice(0, 16);
}

/** The files' names, sizes and mtimes (or that one is missing), as one string. */
export async function guestDisksDigest(files: readonly string[]): Promise<string> {
  const parts = await Promise.all(
    files.map(async (file) => {
      const info = await stat(file).catch(() => undefined);
      return `${basename(file)}:${info ? `${info.size}:${info.mtimeMs}` : 'missing'}`;
    }),
  );
  return parts.join(',');
}

/**
 * The [[file_sync]] sources as they are now: every path's type, mode, size, mtime and link
 * target (not the bytes: a stat walk, cheap for the dotfiles people sync). A change to any
 * of them means new VMs need another template.
 */
export async function fileSyncDigest(
  entries: readonly FileSyncEntry[],
  home: string,
): Promise<string> {
  const hash = createHash('sha256');
  for (const entry of entries) {
    hash.update(`${entry.host}\0${entry.guest}\0${entry.mode ?? ''}\n`);
    // The entry itself is followed, as the copy does; links inside it stay links.
    await walk(hostPath(entry.host, home), '', hash, true);
  }
  return hash.digest('hex').slice(0, 32);
}

async function walk(
  path: string,
  rel: string,
  hash: ReturnType<typeof createHash>,
  follow = false,
): Promise<void> {
  const info: Stats | undefined = await (follow ? stat(path) : lstat(path)).catch(() => undefined);
  if (!info) {
    hash.update(`${rel}\0missing\n`);
    return;
  }
  hash.update(`${rel}\0${info.mode}\0${info.size}\0${info.mtimeMs}\n`);
  if (info.isSymbolicLink()) hash.update(`${await readlink(path)}\n`);
  else if (info.isDirectory())
    for (const name of (await readdir(path)).sort())
      await walk(join(path, name), `${rel}/${name}`, hash);
}
