import { constants } from 'node:fs';
import { chmod, lchown, link, lstat, mkdir, open, readdir, rm, symlink } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { Readable } from 'node:stream';
import tar, { type Header } from 'tar-stream';
import type { EntryMetadata, EntryType, TreeMetadata } from '../disk/ext4.js';
import { BangerError, ErrorCode, errorMessage } from '../errors.js';

/**
 * Extracts a rootfs tar (mmdebstrap, docker export) into the empty `destDir` and returns each
 * entry's owner and mode, so they can be applied to the ext4 even when we cannot chown.
 * Never writes outside destDir: no `..`, no absolute names, nothing written through a symlink.
 */
export async function flattenTar(
  input: Readable,
  destDir: string,
  options: { signal?: AbortSignal } = {},
): Promise<TreeMetadata> {
  if ((await readdir(destDir)).length > 0) {
    throw new BangerError(ErrorCode.Conflict, `cannot extract into ${destDir}: it is not empty`);
  }
  const tree: Tree = {
    root: destDir,
    asRoot: process.getuid?.() === 0,
    metadata: new Map(),
    dirs: new Set(),
  };
  const extract = tar.extract();
  const onAbort = (): void => extract.destroy(cancelled());
  options.signal?.addEventListener('abort', onAbort, { once: true });
  // When the stream itself fails, that error is the story, not the entry it interrupted.
  let streamError: unknown;
  extract.on('error', (err) => (streamError ??= err));
  input.on('error', (err) => extract.destroy(err));
  input.pipe(extract);
  try {
    if (options.signal?.aborted) throw cancelled();
    for await (const entry of extract) {
      // streamx's types omit the async iterator its streams have.
      await extractEntry(entry.header, entry as unknown as AsyncIterable<Uint8Array>, tree);
      entry.resume();
    }
  } catch (err) {
    input.unpipe(extract);
    input.destroy();
    if (options.signal?.aborted) throw cancelled();
    const cause = streamError ?? err;
    if (cause instanceof BangerError) throw cause;
    throw new BangerError(ErrorCode.InvalidParams, `reading rootfs tar: ${errorMessage(cause)}`, {
      cause,
    });
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
  await finishDirs(tree);
  return tree.metadata;
}

interface Tree {
  root: string;
  /** Only root can chown; otherwise owners live in `metadata` alone. */
  asRoot: boolean;
  metadata: TreeMetadata;
  /** Paths checked to be real directories; a directory is never replaced by anything else. */
  dirs: Set<string>;
}

const TYPES: Partial<Record<string, EntryType>> = {
  file: 'file',
  'contiguous-file': 'file',
  directory: 'directory',
  symlink: 'symlink',
  link: 'hardlink',
};

async function extractEntry(
  header: Header,
  body: AsyncIterable<Uint8Array>,
  tree: Tree,
): Promise<void> {
  const path = memberPath(header.name);
  // Devices and fifos are skipped (devtmpfs makes them); the root is mkfs's (0755 root).
  const type = TYPES[String(header.type)];
  if (path === '' || type === undefined) return;
  const item: EntryMetadata = {
    type,
    uid: header.uid,
    gid: header.gid,
    mode: header.mode & 0o7777,
  };
  if (type === 'symlink') item.linkTarget = symlinkTarget(header, path);
  if (type === 'hardlink') item.linkTarget = hardlinkTarget(header, tree.metadata);
  const dest = join(tree.root, path);
  try {
    await ensureParents(tree, path, header.name);
    await clearPath(dest, type === 'directory', header.name);
    if (type === 'directory') {
      await mkdir(dest, { mode: 0o700 }).catch(ignoreExisting);
      tree.dirs.add(path);
    } else if (type === 'symlink') {
      await symlink(item.linkTarget ?? '', dest);
      if (tree.asRoot) await lchown(dest, item.uid, item.gid);
    } else if (type === 'hardlink') {
      await link(join(tree.root, item.linkTarget ?? ''), dest);
    } else {
      await writeFile(body, dest, item, tree.asRoot);
    }
  } catch (err) {
    if (err instanceof BangerError) throw err;
    const message = `extracting tar member ${JSON.stringify(header.name)}: ${errorMessage(err)}`;
    throw new BangerError(ErrorCode.Internal, message, { cause: err });
  }
  tree.metadata.set(path, item);
}

/** "./usr//bin/" → "usr/bin"; refuses anything that could land outside the root. */
function memberPath(name: string): string {
  if (name.startsWith('/')) throw unsafe(name, 'absolute path');
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw unsafe(name, 'path escapes the root');
  // debugfs, which applies owners to the ext4, cannot name these.
  if (/["\n\r\0]/.test(name)) throw unsafe(name, 'holds a double quote or line break');
  return parts.join('/');
}

function symlinkTarget(header: Header, path: string): string {
  const target = header.linkname as string | null;
  if (!target || target.includes('\0')) throw unsafe(header.name, 'symlink without a target');
  // Absolute targets resolve inside the guest (etc/alternatives/awk -> /usr/bin/mawk).
  if (target.startsWith('/')) return target;
  const resolved = posix.normalize(posix.join(posix.dirname(path), target));
  if (resolved === '..' || resolved.startsWith('../')) {
    throw unsafe(header.name, `symlink target "${target}" escapes the root`);
  }
  return target;
}

/** A hardlink may only point at a regular file this tar extracted before it. */
function hardlinkTarget(header: Header, metadata: TreeMetadata): string {
  const target = (header.linkname as string | null) ?? '';
  let path: string;
  try {
    path = memberPath(target);
  } catch {
    throw unsafe(header.name, `hardlink target "${target}" escapes the root`);
  }
  if (metadata.get(path)?.type !== 'file') {
    throw unsafe(header.name, `hardlink target "${target}" is not a file extracted before it`);
  }
  return path;
}

/** Creates missing parents (0755) and refuses to go through a symlink or a file. */
async function ensureParents(tree: Tree, path: string, name: string): Promise<void> {
  const parts = path.split('/').slice(0, -1);
  for (let i = 1; i <= parts.length; i++) {
    const parent = parts.slice(0, i).join('/');
    if (tree.dirs.has(parent)) continue;
    const st = await lstat(join(tree.root, parent)).catch(() => undefined);
    if (!st) await mkdir(join(tree.root, parent), { mode: 0o755 });
    else if (st.isSymbolicLink()) throw unsafe(name, `parent "${parent}" is a symlink`);
    else if (!st.isDirectory()) throw unsafe(name, `parent "${parent}" is not a directory`);
    tree.dirs.add(parent);
  }
}

/** A later member replaces an earlier one, except that a directory stays a directory. */
async function clearPath(dest: string, isDir: boolean, name: string): Promise<void> {
  const st = await lstat(dest).catch(() => undefined);
  if (!st || (isDir && st.isDirectory())) return;
  if (st.isDirectory()) throw unsafe(name, 'replaces a directory');
  await rm(dest);
}

async function writeFile(
  body: AsyncIterable<Uint8Array>,
  dest: string,
  item: EntryMetadata,
  asRoot: boolean,
): Promise<void> {
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
  const file = await open(dest, flags, 0o600);
  try {
    for await (const chunk of body) await file.write(chunk);
    if (asRoot) await file.chown(item.uid, item.gid); // before chmod: chown clears setuid
    await file.chmod(item.mode);
  } finally {
    await file.close();
  }
}

/** Directory modes last and deepest first, so a 0555 directory does not block its children. */
async function finishDirs({ root, asRoot, metadata, dirs }: Tree): Promise<void> {
  const deepestFirst = [...dirs].sort((a, b) => b.split('/').length - a.split('/').length);
  for (const dir of deepestFirst) {
    const item = metadata.get(dir);
    if (asRoot && item) await lchown(join(root, dir), item.uid, item.gid);
    await chmod(join(root, dir), item?.type === 'directory' ? item.mode : 0o755);
  }
}

function ignoreExisting(err: unknown): void {
  if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
}

function unsafe(name: string, why: string): BangerError {
  const message = `unsafe tar member ${JSON.stringify(name)}: ${why}`;
  return new BangerError(ErrorCode.InvalidParams, message);
}

function cancelled(): BangerError {
  return new BangerError(ErrorCode.Cancelled, 'extracting the rootfs tar was cancelled');
}
