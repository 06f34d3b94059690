// Writing tar members into a tree without ever leaving it: no `..`, no absolute names, nothing
// written, linked or removed through a symlink; each member's owner and mode captured in
// TreeMetadata so they can be applied to the ext4 even when we cannot chown.
import { constants, type Stats } from 'node:fs';
import { chmod, lchown, link, lstat, mkdir, open, rm, symlink } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { Readable } from 'node:stream';
import tar, { type Header } from 'tar-stream';
import type { EntryMetadata, EntryType, TreeMetadata } from '../disk/ext4.js';
import { BangerError, ErrorCode, errorMessage } from '../errors.js';

export interface TreeWriterOptions {
  /**
   * A member may replace a directory (the whole directory goes), as a later image layer may;
   * within one rootfs tar that is refused.
   */
  replaceDirs?: boolean;
  /** Record parents the tar did not list as root-owned 0755 directories (Docker's MkdirAll). */
  recordParents?: boolean;
}

const TYPES: Partial<Record<string, EntryType>> = {
  file: 'file',
  'contiguous-file': 'file',
  directory: 'directory',
  symlink: 'symlink',
  link: 'hardlink',
};

export class TreeWriter {
  readonly metadata: TreeMetadata = new Map();
  /** Only root can chown; otherwise owners live in `metadata` alone. */
  readonly #asRoot = process.getuid?.() === 0;
  /** Paths checked to be real directories, so parents are lstat'ed once. */
  readonly #dirs = new Set<string>();
  /** Hardlinks by the file they share an inode with, to hand the inode on when it goes. */
  readonly #links = new Map<string, Set<string>>();

  constructor(
    readonly root: string,
    readonly options: TreeWriterOptions = {},
  ) {}

  /**
   * Writes one member, returning its root-relative path, or undefined for what is skipped:
   * the root (mkfs's, 0755 root), devices, fifos and sockets (the guest's devtmpfs makes them).
   */
  async add(header: Header, body: AsyncIterable<Uint8Array>): Promise<string | undefined> {
    const path = memberPath(header.name);
    const type = TYPES[String(header.type)];
    if (path === '' || type === undefined) return undefined;
    const item: EntryMetadata = {
      type,
      uid: header.uid,
      gid: header.gid,
      mode: header.mode & 0o7777,
    };
    if (type === 'symlink') item.linkTarget = symlinkTarget(header, path);
    if (type === 'hardlink') item.linkTarget = this.#hardlinkTarget(header);
    const dest = join(this.root, path);
    try {
      await this.#ensureParents(path, header.name);
      await this.#clearPath(path, type === 'directory', header.name);
      // Again: replacing `path` may have handed the target's inode on (b -> a, then a -> b).
      if (type === 'hardlink') item.linkTarget = this.#hardlinkTarget(header);
      if (type === 'directory') {
        await mkdir(dest, { mode: 0o700 }).catch(ignoreExisting);
        this.#dirs.add(path);
      } else if (type === 'symlink') {
        await symlink(item.linkTarget ?? '', dest);
        if (this.#asRoot) await lchown(dest, item.uid, item.gid);
      } else if (type === 'hardlink') {
        await link(join(this.root, item.linkTarget ?? ''), dest);
      } else {
        await writeFile(body, dest, item, this.#asRoot);
      }
    } catch (err) {
      if (err instanceof BangerError) throw err;
      const message = `extracting tar member ${JSON.stringify(header.name)}: ${errorMessage(err)}`;
      throw new BangerError(ErrorCode.Internal, message, { cause: err });
    }
    if (item.linkTarget !== undefined && type === 'hardlink') {
      const links = this.#links.get(item.linkTarget) ?? new Set();
      this.#links.set(item.linkTarget, links.add(path));
    }
    this.metadata.set(path, item);
    return path;
  }

  /**
   * What is at `path` (lstat, undefined when missing or below a non-directory). `name`, the
   * member asking, is refused when a parent is a symlink: we never look through one.
   */
  async lookup(path: string, name: string): Promise<Stats | undefined> {
    const parts = path === '' ? [] : path.split('/');
    let st: Stats | undefined = await lstat(this.root);
    for (let i = 1; i <= parts.length; i++) {
      const prefix = parts.slice(0, i).join('/');
      if (st.isSymbolicLink())
        throw unsafe(name, `parent "${parts.slice(0, i - 1).join('/')}" is a symlink`);
      if (!st.isDirectory()) return undefined;
      st = await lstat(join(this.root, prefix)).catch(() => undefined);
      if (!st) return undefined;
    }
    return st;
  }

  /** Removes `path` (a whole directory, or a link itself, never what it points at). */
  async remove(path: string, name: string): Promise<void> {
    const st = await this.lookup(path, name);
    if (!st || path === '') return;
    await rm(join(this.root, path), { recursive: true, force: true });
    this.#drop(path, st.isDirectory());
  }

  /** Directory modes last and deepest first, so a 0555 directory does not block its children. */
  async finish(): Promise<void> {
    const deepestFirst = [...this.#dirs].sort((a, b) => b.split('/').length - a.split('/').length);
    for (const dir of deepestFirst) {
      const item = this.metadata.get(dir);
      const path = join(this.root, dir);
      if (this.#asRoot && item) await lchown(path, item.uid, item.gid);
      await chmod(path, item?.type === 'directory' ? item.mode : 0o755);
    }
  }

  /** A hardlink may only point at a regular file extracted before it. */
  #hardlinkTarget(header: Header): string {
    const target = (header.linkname as string | null) ?? '';
    let path: string;
    try {
      path = memberPath(target);
    } catch {
      throw unsafe(header.name, `hardlink target "${target}" escapes the root`);
    }
    const entry = this.metadata.get(path);
    if (entry?.type === 'hardlink' && entry.linkTarget !== undefined) return entry.linkTarget;
    if (entry?.type !== 'file') {
      throw unsafe(header.name, `hardlink target "${target}" is not a file extracted before it`);
    }
    return path;
  }

  /** Creates missing parents (0755) and refuses to go through a symlink or a file. */
  async #ensureParents(path: string, name: string): Promise<void> {
    const parts = path.split('/').slice(0, -1);
    for (let i = 1; i <= parts.length; i++) {
      const parent = parts.slice(0, i).join('/');
      if (this.#dirs.has(parent)) continue;
      const st = await lstat(join(this.root, parent)).catch(() => undefined);
      if (!st) {
        await mkdir(join(this.root, parent), { mode: 0o755 });
        if (this.options.recordParents) {
          this.metadata.set(parent, { type: 'directory', uid: 0, gid: 0, mode: 0o755 });
        }
      } else if (st.isSymbolicLink()) throw unsafe(name, `parent "${parent}" is a symlink`);
      else if (!st.isDirectory()) throw unsafe(name, `parent "${parent}" is not a directory`);
      this.#dirs.add(parent);
    }
  }

  /** A later member replaces an earlier one; a directory stays a directory unless replaceDirs. */
  async #clearPath(path: string, isDir: boolean, name: string): Promise<void> {
    // The root starts empty (both callers check): a path this writer never made or met as
    // a parent is not there, and the lstat is saved (one syscall of ~4 per member). Should
    // something be there after all, the create below fails (O_EXCL, EEXIST): never silent.
    if (!this.metadata.has(path) && !this.#dirs.has(path)) return;
    const dest = join(this.root, path);
    const st = await lstat(dest).catch(() => undefined);
    if (!st || (isDir && st.isDirectory())) return;
    if (st.isDirectory() && !this.options.replaceDirs) throw unsafe(name, 'replaces a directory');
    await rm(dest, { recursive: true });
    this.#drop(path, st.isDirectory());
  }

  /** Forgets `path` (and, for a directory, all below it); a removed file's hardlinks inherit it. */
  #drop(path: string, isDir: boolean): void {
    const gone = isDir
      ? [...this.metadata.keys()].filter((p) => p === path || p.startsWith(`${path}/`))
      : [path];
    if (isDir)
      for (const d of this.#dirs) if (d === path || d.startsWith(`${path}/`)) this.#dirs.delete(d);
    const files: [string, EntryMetadata][] = [];
    for (const p of gone) {
      const entry = this.metadata.get(p);
      this.metadata.delete(p);
      if (entry?.type === 'hardlink') this.#links.get(entry.linkTarget ?? '')?.delete(p);
      if (entry?.type === 'file') files.push([p, entry]);
    }
    for (const [p, entry] of files) {
      const [heir, ...rest] = this.#links.get(p) ?? [];
      this.#links.delete(p);
      if (heir === undefined) continue;
      this.metadata.set(heir, { type: 'file', uid: entry.uid, gid: entry.gid, mode: entry.mode });
      if (rest.length > 0) this.#links.set(heir, new Set(rest));
      for (const other of rest) {
        const linkEntry = this.metadata.get(other);
        if (linkEntry) linkEntry.linkTarget = heir;
      }
    }
  }
}

/** The tar stream itself failed (truncated, corrupt), rather than a member being refused. */
export class TarStreamError extends BangerError {
  override readonly name = 'TarStreamError';
  constructor(message: string, options: { cause: unknown }) {
    super(ErrorCode.InvalidParams, message, options);
  }
}

/**
 * Feeds each member of a tar stream to `onEntry` in order (its body drained after), and fails
 * with one error: the member refused, else the stream's own error, named after `what`.
 */
export async function walkTar(
  input: Readable,
  what: string,
  onEntry: (header: Header, body: AsyncIterable<Uint8Array>) => Promise<unknown>,
  signal?: AbortSignal,
): Promise<void> {
  const extract = tar.extract();
  const onAbort = (): void => extract.destroy(cancelled(what));
  signal?.addEventListener('abort', onAbort, { once: true });
  // When the stream itself fails, that error is the story, not the entry it interrupted.
  let streamError: unknown;
  extract.on('error', (err) => (streamError ??= err));
  input.on('error', (err) => extract.destroy(err));
  input.pipe(extract);
  try {
    if (signal?.aborted) throw cancelled(what);
    for await (const entry of extract) {
      // streamx's types omit the async iterator its streams have.
      await onEntry(entry.header, entry as unknown as AsyncIterable<Uint8Array>);
      entry.resume();
    }
  } catch (err) {
    input.unpipe(extract);
    input.destroy();
    if (signal?.aborted) throw cancelled(what);
    const cause = streamError ?? err;
    if (cause instanceof BangerError) throw cause;
    throw new TarStreamError(`reading ${what}: ${errorMessage(cause)}`, { cause });
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

/** "./usr//bin/" → "usr/bin"; refuses anything that could land outside the root. */
export function memberPath(name: string): string {
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
  // Absolute targets resolve inside the guest (etc/alternatives/awk -> /usr/bin/mawk); the
  // extractor never follows any link, so they need no check here.
  if (target.startsWith('/')) return target;
  const resolved = posix.normalize(posix.join(posix.dirname(path), target));
  if (resolved === '..' || resolved.startsWith('../')) {
    throw unsafe(header.name, `symlink target "${target}" escapes the root`);
  }
  return target;
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

function ignoreExisting(err: unknown): void {
  if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
}

export function unsafe(name: string, why: string): BangerError {
  const message = `unsafe tar member ${JSON.stringify(name)}: ${why}`;
  return new BangerError(ErrorCode.InvalidParams, message);
}

function cancelled(what: string): BangerError {
  return new BangerError(ErrorCode.Cancelled, `extracting the ${what} was cancelled`);
}
