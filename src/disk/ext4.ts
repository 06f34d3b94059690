import { constants } from 'node:fs';
import { lstat, open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { GiB, MiB } from '../config/size.js';
import { BangerError, ErrorCode } from '../errors.js';
import type { Runner } from '../system/runner.js';
import { DebugfsScript, runDebugfs } from './debugfs.js';

export type EntryType = 'file' | 'directory' | 'symlink' | 'hardlink';

export interface EntryMetadata {
  type: EntryType;
  uid: number;
  gid: number;
  /** Permission bits with setuid/setgid/sticky (0o4755), no type bits. */
  mode: number;
  /** Symlink target, or the hardlink's root-relative target path. */
  linkTarget?: string;
}

/** Owner and mode of each entry of a tree, by root-relative path ("usr/bin/sudo"). */
export type TreeMetadata = Map<string, EntryMetadata>;

const INODE_BYTES = 4096;

/** Bytes a tree needs: file sizes (hardlinks once) plus 4 KiB per inode; symlinks not followed. */
export async function treeBytes(dir: string): Promise<number> {
  const seen = new Set<string>();
  const walk = async (path: string): Promise<number> => {
    const entries = await readdir(path, { withFileTypes: true });
    const sizes = await Promise.all(
      entries.map(async (entry) => {
        const child = join(path, entry.name);
        if (entry.isDirectory()) return INODE_BYTES + (await walk(child));
        const st = await lstat(child);
        const key = `${st.dev}:${st.ino}`;
        if (seen.has(key)) return 0;
        seen.add(key);
        return INODE_BYTES + (st.isFile() ? st.size : 0);
      }),
    );
    return sizes.reduce((a, b) => a + b, 0);
  };
  return INODE_BYTES + (await walk(dir));
}

/** Room for inode tables, journal and the 5% reserve, and some left for the guest. */
export function ext4SizeFor(contentBytes: number): number {
  return Math.ceil(Math.max(contentBytes * 1.5, GiB) / MiB) * MiB;
}

/**
 * An ext4 of exactly `sizeBytes` holding `srcDir`. The file is sized first because
 * mkfs.ext4's positional size is in 1 KiB units, not blocks: passing it shrank images to 1/4.
 */
export async function buildExt4(
  srcDir: string,
  outFile: string,
  sizeBytes: number,
  runner: Runner,
): Promise<void> {
  if (!Number.isSafeInteger(sizeBytes) || sizeBytes < 16 * MiB) {
    throw new BangerError(
      ErrorCode.InvalidParams,
      `ext4 size ${sizeBytes} is too small: use at least 16M`,
    );
  }
  const file = await open(outFile, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC);
  try {
    await file.truncate(sizeBytes);
  } finally {
    await file.close();
  }
  await runner.run('mkfs.ext4', ['-F', '-q', '-d', srcDir, '-E', 'root_owner=0:0', outFile]);
}

const TYPE_BITS: Record<EntryType, number> = {
  file: 0o100000,
  hardlink: 0o100000,
  directory: 0o040000,
  symlink: 0o120000,
};

/** uid, gid and mode of every entry, sorted by path so the script is deterministic. */
export function ownershipScript(
  metadata: TreeMetadata,
  include: (path: string) => boolean = () => true,
): DebugfsScript {
  const script = new DebugfsScript();
  for (const path of [...metadata.keys()].sort()) {
    const entry = metadata.get(path);
    // A hardlink shares its target's inode, which the target's own entry sets.
    if (!entry || entry.type === 'hardlink' || !include(path)) continue;
    const perms = entry.type === 'symlink' ? 0o777 : entry.mode & 0o7777;
    script.setOwner(path, entry.uid, entry.gid).setMode(path, TYPE_BITS[entry.type] | perms);
  }
  return script;
}

/**
 * mkfs.ext4 -d copies the owners it finds on disk: an unprivileged extraction leaves every
 * file owned by the builder and setuid binaries setuid-to-nobody. One debugfs pass fixes that.
 */
export async function applyOwnership(
  image: string,
  metadata: TreeMetadata,
  runner: Runner,
  onlyWhereDiffers?: (path: string) => boolean,
): Promise<void> {
  await runDebugfs(image, ownershipScript(metadata, onlyWhereDiffers), runner);
}
