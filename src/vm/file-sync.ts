import type { Dirent, Stats } from 'node:fs';
import { lstat, readdir, readlink, stat } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { keyPath } from '../config/key-path.js';
import type { FileSyncEntry } from '../config/schema.js';
import { DebugfsScript, runDebugfs } from '../disk/debugfs.js';
import { BangerError, ErrorCode, errorMessage } from '../errors.js';
import type { Runner } from '../system/runner.js';
import { PROVIDED_HOST_KEY } from './disks.js';

// [[file_sync]]: host files and directories copied onto a new VM's work disk (the guest's
// /root) before it boots, with debugfs, so no ssh and no guest tool is involved.

/** Paths a fresh work disk has already (banger's own): never created twice. */
const FRESH_DISK_DIRS = ['/', '/lost+found', '/.ssh', posix.dirname(PROVIDED_HOST_KEY)];

export interface SyncResult {
  copied: string[];
  skipped: string[];
}

/** `~`, `~/x`, `/root`, `/root/x` (guest side, checked at config load) → a work disk path. */
export function workDiskPath(guest: string): string {
  const rest = guest.replace(/^(~|\/root)(?=\/|$)/, '');
  return posix.normalize(`/${rest}`).replace(/(.)\/$/, '$1');
}

export function hostPath(host: string, home: string): string {
  return host === '~' ? home : host.startsWith('~/') ? join(home, host.slice(2)) : host;
}

/**
 * Copies every entry onto the work disk in one debugfs run. A host path that does not exist
 * is skipped (reported through `warn`); anything else that goes wrong is an error naming
 * the entry, and the create that called this is abandoned.
 */
export async function syncFiles(opts: {
  disk: string;
  entries: readonly FileSyncEntry[];
  home: string;
  runner: Runner;
  warn: (message: string) => void;
}): Promise<SyncResult> {
  const script = new DebugfsScript();
  const made = new Set(FRESH_DISK_DIRS);
  const result: SyncResult = { copied: [], skipped: [] };
  const mkdirs = (path: string, mode = 0o040755) => {
    const parts = path.split('/').filter(Boolean);
    for (let i = 1; i <= parts.length; i++) {
      const dir = `/${parts.slice(0, i).join('/')}`;
      if (made.has(dir)) continue;
      made.add(dir);
      script
        .mkdir(dir)
        .setOwner(dir, 0, 0)
        .setMode(dir, i === parts.length ? mode : 0o040755);
    }
  };
  for (const [index, entry] of opts.entries.entries()) {
    const source = hostPath(entry.host, opts.home);
    const target = workDiskPath(entry.guest);
    const fail = (why: string) =>
      new BangerError(
        ErrorCode.Config,
        `${keyPath(['file_sync', index])} (${entry.host} → ${entry.guest}): ${why}`,
        { hint: 'fix or remove that [[file_sync]] entry in config.toml' },
      );
    let info: Stats;
    try {
      info = await stat(source);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        result.skipped.push(entry.host);
        opts.warn(`skipped ${entry.host}: not found on the host`);
        continue;
      }
      throw fail(errorMessage(err));
    }
    if (target === '/')
      throw fail('the guest path is /root itself; name a file or directory under it');
    if (info.isDirectory()) {
      mkdirs(target, 0o040000 | (info.mode & 0o7777));
      await copyTree(source, target, script, mkdirs).catch((err: unknown) => {
        throw fail(errorMessage(err));
      });
    } else if (info.isFile()) {
      mkdirs(posix.dirname(target));
      script
        .write(source, target)
        .setOwner(target, 0, 0)
        .setMode(target, 0o100000 | (entry.mode ?? 0o600));
    } else throw fail(`${source} is neither a file nor a directory`);
    result.copied.push(entry.host);
  }
  if (script.commands.length > 0) await runDebugfs(opts.disk, script, opts.runner);
  return result;
}

/** A directory's contents, each with its own mode; symlinks stay symlinks. */
async function copyTree(
  dir: string,
  target: string,
  script: DebugfsScript,
  mkdirs: (path: string, mode: number) => void,
): Promise<void> {
  const entries: Dirent[] = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => a.name.localeCompare(b.name));
  for (const entry of entries) {
    const from = join(dir, entry.name);
    const to = posix.join(target, entry.name);
    const info = await lstat(from);
    if (entry.isDirectory()) {
      mkdirs(to, 0o040000 | (info.mode & 0o7777));
      await copyTree(from, to, script, mkdirs);
    } else if (entry.isFile()) {
      script
        .write(from, to)
        .setOwner(to, 0, 0)
        .setMode(to, 0o100000 | (info.mode & 0o7777));
    } else if (entry.isSymbolicLink()) {
      // debugfs makes it root-owned; sif on a link path would act on its target.
      script.symlink(to, await readlink(from));
    }
    // Sockets, FIFOs and devices have no place on a work disk: left out.
  }
}
