// OCI image layers, lowest first, applied into one tree as Docker applies them: whiteouts,
// opaque directories, later layers winning; owners captured for the debugfs pass.
import { readdir } from 'node:fs/promises';
import { posix } from 'node:path';
import { PassThrough, pipeline, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { Header } from 'tar-stream';
import { formatSize, formatSizeApprox } from '../../config/size.js';
import { ext4SizeFor, treeBytes, type TreeMetadata } from '../../disk/ext4.js';
import { BangerError, ErrorCode, SubprocessError, errorMessage } from '../../errors.js';
import type { Runner } from '../../system/runner.js';
import { zstdComplaint } from '../../catalog/tar-zst.js';
import { assertEmpty } from '../flatten-tar.js';
import { TarStreamError, TreeWriter, memberPath, unsafe, walkTar } from '../tree-writer.js';
import { layerCompression, type Compression } from './manifest.js';
import { resolveInTree } from './resolve-in-tree.js';

export interface Layer {
  digest: string;
  mediaType: string;
  /** The blob as stored (compressed as its media type says). */
  open(): Readable;
}

export interface FlattenOptions {
  runner: Runner;
  signal?: AbortSignal;
  /**
   * The most the layers' file bytes may add up to (the room the disk can give): a layer
   * past it stops with `tooBig()`, before the disk is full, however well it compresses.
   */
  room?: { bytes: number; tooBig(bytes: number): BangerError };
}

export interface FlattenedImage {
  /** Owner, mode and type of every path of the final tree. */
  metadata: TreeMetadata;
  /** What the tree needs on an ext4 (treeBytes: file sizes, hardlinks once, 4 KiB per inode). */
  treeBytes: number;
  /** /bin/sh resolves (inside the image) to a file: the daemon refuses an image without it. */
  hasShell: boolean;
  /** The first of INIT_PATHS that resolves to a file, and what it resolves to. */
  init: { path: string; target: string } | undefined;
}

export const INIT_PATHS = ['/sbin/init', '/lib/systemd/systemd', '/usr/lib/systemd/systemd'];

/** Container markers: a booted VM is not a container. */
const MARKERS = ['.dockerenv', 'run/.containerenv'];

/**
 * Applies `layers` in order into the empty `destDir`. On failure destDir is left for the
 * caller (who staged it) to remove; nothing is ever written outside it.
 */
export async function flattenLayers(
  layers: readonly Layer[],
  destDir: string,
  options: FlattenOptions,
): Promise<FlattenedImage> {
  for (const layer of layers) compression(layer); // refuse before writing anything
  await assertEmpty(destDir);
  const writer = new TreeWriter(destDir, { replaceDirs: true, recordParents: true });
  const used = { bytes: 0 };
  for (const layer of layers) {
    if (options.signal?.aborted) throw cancelled(layer);
    await applyLayer(layer, writer, options, used);
  }
  for (const marker of MARKERS) {
    // Below a symlinked parent (run -> var/run) it is not ours to remove: links are not followed.
    const st = await writer.lookup(marker, marker).catch(() => undefined);
    if (st) await writer.remove(marker, marker);
  }
  await writer.finish();
  const found = async (path: string) => {
    const target = await resolveInTree(destDir, path);
    return target === undefined ? undefined : { path, target };
  };
  let init: FlattenedImage['init'];
  for (const path of INIT_PATHS) init ??= await found(path);
  return {
    metadata: writer.metadata,
    treeBytes: await treeBytes(destDir),
    hasShell: (await found('/bin/sh')) !== undefined,
    init,
  };
}

/** The ext4 size for a tree: `requested` (refused when the tree cannot fit), else tree × 1.5, ≥ 1 GiB. */
export function imageSizeFor(treeBytes: number, requested?: number): number {
  if (requested === undefined) return ext4SizeFor(treeBytes);
  // Inode tables, the journal and the 5% reserve take about a tenth, and a journal 64 MiB.
  const least = ext4SizeFor(0) / 16 + Math.ceil(treeBytes * 1.1);
  if (requested < least) {
    throw new BangerError(
      ErrorCode.InvalidParams,
      `a ${formatSize(requested)} disk is too small for this image (${formatSizeApprox(treeBytes)}): use --size ${formatSize(ext4SizeFor(treeBytes))} or more, or leave --size out`,
    );
  }
  return requested;
}

function compression(layer: Layer): Compression {
  const kind = layerCompression(layer.mediaType);
  if (kind === undefined) {
    throw new BangerError(
      ErrorCode.InvalidParams,
      `layer ${short(layer.digest)} has media type ${JSON.stringify(layer.mediaType)}, which banger cannot unpack (tar, tar+gzip or tar+zstd only)`,
    );
  }
  return kind;
}

/**
 * One layer through its decompressor into the tree. The error reported is the member
 * refused, else the decompressor's (a truncated gzip or zstd stream), else the tar's.
 */
async function applyLayer(
  layer: Layer,
  writer: TreeWriter,
  options: FlattenOptions,
  used: { bytes: number },
): Promise<void> {
  const stop = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
  const { stream, done } = decompressed(layer, options.runner, signal);
  const apply = new LayerApplier(writer, (bytes) => {
    used.bytes += bytes;
    if (options.room && used.bytes > options.room.bytes) throw options.room.tooBig(used.bytes);
  });
  const onEntry = (header: Header, body: AsyncIterable<Uint8Array>) => apply.entry(header, body);
  const [walk, decompress] = await Promise.allSettled([
    walkTar(stream, `layer ${short(layer.digest)}`, onEntry, options.signal).catch(
      (err: unknown) => {
        // The decompressor has no reader any more; but a tar that ended early read its end:
        // it exits by itself, with its own verdict on the stream (killed, it would have none).
        if (!(err instanceof TarStreamError && EARLY_END.test(err.message))) stop.abort();
        throw err;
      },
    ),
    done,
  ]);
  if (options.signal?.aborted) throw cancelled(layer);
  const tarError = walk.status === 'rejected' ? asError(walk.reason) : undefined;
  if (tarError !== undefined && !(tarError instanceof TarStreamError)) {
    throw inLayer(layer, tarError); // a member refused
  }
  // A tar that ended early is the decompressor's to explain; any other tar error came first.
  if (tarError !== undefined && !EARLY_END.test(tarError.message)) throw tarError;
  // A decompressor killed because the tar had stopped reading says nothing about its stream.
  const killedHere =
    stop.signal.aborted &&
    decompress.status === 'rejected' &&
    decompress.reason instanceof SubprocessError &&
    decompress.reason.exitCode === undefined;
  if (decompress.status === 'rejected' && !killedHere) {
    const why =
      decompress.reason instanceof SubprocessError
        ? zstdComplaint(decompress.reason)
        : errorMessage(decompress.reason);
    throw new BangerError(
      ErrorCode.InvalidParams,
      `layer ${short(layer.digest)}: truncated or corrupt ${compression(layer)} stream: ${why}`,
      { hint: 'the layer blob is damaged: pull the image again', cause: decompress.reason },
    );
  }
  if (tarError !== undefined) throw tarError;
}

const EARLY_END = /unexpected end of (data|file)|premature close/i;

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(errorMessage(err));
}

const GUNZIP_CHUNK = 64 * 1024;

/** The layer's tar bytes; `done` settles when the decompressor has checked the whole stream. */
function decompressed(
  layer: Layer,
  runner: Runner,
  signal: AbortSignal,
): { stream: Readable; done: Promise<unknown> } {
  const source = layer.open();
  const kind = compression(layer);
  if (kind === 'none') return { stream: source, done: Promise.resolve() };
  if (kind === 'gzip') {
    const out = new PassThrough();
    // Each chunk gunzip emits reaches its file as one write, a thread-pool round trip: 64 KiB
    // chunks instead of zlib's 16 KiB made flattening large files ~12 % faster (BENCHMARKS.md).
    const inflate = createGunzip({ chunkSize: GUNZIP_CHUNK });
    const done = new Promise((resolve, reject) => {
      pipeline(source, inflate, out, (err) => (err ? reject(err) : resolve(undefined)));
    });
    return { stream: out, done };
  }
  const child = runner.stream('zstd', ['-dc'], { signal });
  pipeline(source, child.stdin, () => undefined); // zstd's exit status tells what went wrong
  signal.addEventListener('abort', () => source.destroy(), { once: true });
  return { stream: child.stdout, done: child.done };
}

/**
 * A layer's members: whiteouts remove what lower layers made, everything else is written.
 * Per the OCI spec a whiteout never hides what its own layer adds, so the paths this layer
 * wrote, and their parents, are remembered.
 */
class LayerApplier {
  readonly #written = new Set<string>();
  readonly #parents = new Set<string>();

  /** `count` hears of each member's size before it is written (and may refuse it). */
  constructor(
    readonly writer: TreeWriter,
    readonly count: (bytes: number) => void,
  ) {}

  async entry(header: Header, body: AsyncIterable<Uint8Array>): Promise<void> {
    const path = memberPath(header.name);
    const base = posix.basename(path);
    if (!base.startsWith('.wh.')) {
      this.count(header.size ?? 0);
      const written = await this.writer.add(header, body);
      if (written !== undefined) this.#mark(written);
      return;
    }
    const dir = path.includes('/') ? posix.dirname(path) : '';
    if (base === '.wh..wh..opq') return this.#clearLower(dir, header.name);
    if (base.startsWith('.wh..wh.')) return; // aufs bookkeeping (.wh..wh.plnk), not a whiteout
    const name = base.slice('.wh.'.length);
    if (name === '' || name === '.' || name === '..')
      throw unsafe(header.name, 'whiteout of no name');
    const victim = dir === '' ? name : `${dir}/${name}`;
    if (this.#written.has(victim)) return;
    if (this.#parents.has(victim)) return this.#clearLower(victim, header.name);
    await this.writer.remove(victim, header.name);
  }

  #mark(path: string): void {
    this.#written.add(path);
    for (let p = posix.dirname(path); p !== '.'; p = posix.dirname(p)) this.#parents.add(p);
  }

  /** Empties `dir` of what lower layers put there, keeping what this layer wrote. */
  async #clearLower(dir: string, name: string): Promise<void> {
    const st = await this.writer.lookup(dir, name);
    if (!st?.isDirectory()) {
      if (st?.isSymbolicLink()) throw unsafe(name, `parent "${dir}" is a symlink`);
      return;
    }
    for (const child of await readdir(posix.join(this.writer.root, dir))) {
      const path = dir === '' ? child : `${dir}/${child}`;
      if (this.#parents.has(path)) await this.#clearLower(path, name);
      else if (!this.#written.has(path)) await this.writer.remove(path, name);
      else if (this.writer.metadata.get(path)?.type === 'directory') {
        await this.#clearLower(path, name);
      }
    }
  }
}

function inLayer(layer: Layer, err: unknown): BangerError {
  if (!(err instanceof BangerError)) {
    return new BangerError(
      ErrorCode.Internal,
      `layer ${short(layer.digest)}: ${errorMessage(err)}`,
      {
        cause: err,
      },
    );
  }
  return new BangerError(err.code, `layer ${short(layer.digest)}: ${err.message}`, {
    cause: err,
    ...(err.hint ? { hint: err.hint } : {}),
  });
}

/** "sha256:0123456789ab", enough to tell layers apart in a message. */
function short(digest: string): string {
  const [algorithm, hex] = digest.includes(':') ? digest.split(':', 2) : ['', digest];
  return `${algorithm ? `${algorithm}:` : ''}${(hex ?? '').slice(0, 12)}`;
}

function cancelled(layer: Layer): BangerError {
  return new BangerError(
    ErrorCode.Cancelled,
    `unpacking layer ${short(layer.digest)} was cancelled`,
  );
}
