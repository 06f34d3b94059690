import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { BangerError, ErrorCode } from '../errors.js';
import { STAGING_SUFFIX } from '../config/layout.js';

/** A random id for a VM, image or kernel: its directory name and primary key. */
export function newId(): string {
  return randomBytes(8).toString('hex');
}

/**
 * Anything banger builds is staged in `<parent>/<id>.staging` and published by one rename,
 * so a reader sees either nothing or the whole thing; `discard` removes a failed staging.
 */
export class Staging {
  private constructor(
    readonly dir: string,
    readonly finalDir: string,
  ) {}

  static async create(parent: string, id: string): Promise<Staging> {
    const staging = new Staging(join(parent, `${id}${STAGING_SUFFIX}`), join(parent, id));
    await mkdir(staging.dir, { recursive: true });
    return staging;
  }

  async publish(): Promise<string> {
    if (
      await stat(this.finalDir).then(
        () => true,
        () => false,
      )
    )
      throw new BangerError(ErrorCode.AlreadyExists, `${this.finalDir} already exists`);
    await rename(this.dir, this.finalDir);
    return this.finalDir;
  }

  /**
   * Publishes, then records the result (a store insert): if recording fails the published
   * directory is removed again, so the store and the disk never disagree.
   */
  async publishWith<T>(record: (dir: string) => T | Promise<T>): Promise<T> {
    const dir = await this.publish();
    try {
      return await record(dir);
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
  }

  /** Resolves once the staging dir is gone (a cancelled operation is answered after this). */
  async discard(): Promise<void> {
    // Retries cover a writer that was still closing a file in it (ENOTEMPTY, EBUSY).
    await rm(this.dir, { recursive: true, force: true, maxRetries: 3 });
  }
}

/** Staging dirs left by a daemon that died mid-build: never valid, removed at start-up. */
export async function removeStaleStaging(parent: string): Promise<string[]> {
  const stale = (await readdir(parent).catch(() => [])).filter((n) => n.endsWith(STAGING_SUFFIX));
  for (const name of stale) await rm(join(parent, name), { recursive: true, force: true });
  return stale;
}

/**
 * Where a single file (the guest kit's ext4) is written before one rename publishes it:
 * `<dir>/.<name>.<random>.staging`, beside it so the rename stays on one file system.
 */
export function stagedFilePath(path: string): string {
  const name = `.${basename(path)}.${randomBytes(4).toString('hex')}${STAGING_SUFFIX}`;
  return join(dirname(path), name);
}

/** Files staged for `path` (stagedFilePath) by a daemon killed before the rename; at start-up. */
export async function removeStaleStagedFiles(path: string): Promise<string[]> {
  const prefix = `.${basename(path)}.`;
  const stale = (await readdir(dirname(path)).catch(() => [])).filter(
    (n) =>
      n.startsWith(prefix) &&
      n.endsWith(STAGING_SUFFIX) &&
      n.length > prefix.length + STAGING_SUFFIX.length,
  );
  for (const name of stale) await rm(join(dirname(path), name), { recursive: true, force: true });
  return stale;
}

/** The file's bytes on disk, not just in the page cache (before something counts on them). */
export async function fsyncFile(path: string): Promise<void> {
  const file = await open(path, 'r');
  try {
    await file.sync();
  } finally {
    await file.close();
  }
}
