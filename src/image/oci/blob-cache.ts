// A content-addressed blob store (`<dir>/<hex>`) that never serves a partial or unverified blob:
// a download goes to `<hex>.partial`, is hashed while it streams, checked for digest and size,
// then renamed. A later attempt resumes a partial file with Range and verifies the whole.
import { isDiskFull } from '../../system/disk-full.js';
import { createHash, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BangerError, ErrorCode, errorMessage } from '../../errors.js';
import type { Descriptor } from './manifest.js';
import { isSha256Digest } from './reference.js';

/** A response body for a blob; `start` is the offset it begins at (0 when Range was ignored). */
export interface BlobBody {
  start: number;
  body: Readable;
  /** The response's Content-Length, when it said. */
  length: number | undefined;
}

export interface BlobSource {
  /** Named in messages: `127.0.0.1:5000/team/app`. */
  readonly name: string;
  /** Resolves null when the server cannot satisfy the range (HTTP 416). */
  open(
    digest: string,
    options: { offset: number; signal?: AbortSignal | undefined },
  ): Promise<BlobBody | null>;
}

export interface FetchOptions {
  signal?: AbortSignal | undefined;
  /** Bytes of this blob received so far (a resumed part included) of its size. */
  onProgress?: ((received: number, total: number) => void) | undefined;
  /** Transfers tried before a dropped connection is reported; each resumes the last. */
  attempts?: number;
}

export interface FetchAllOptions {
  signal?: AbortSignal | undefined;
  concurrency?: number;
  onProgress?: ((blob: Descriptor, received: number, total: number) => void) | undefined;
  attempts?: number;
}

/** A transfer that broke off: the partial file stays and the next attempt resumes it. */
class Interrupted extends Error {}

/** The bytes do not hash to the digest (or have the wrong size); the partial is gone. */
class DigestMismatch extends BangerError {}

// One download per blob at a time in this process, whichever BlobCache instance asks.
const inFlight = new Map<string, Promise<unknown>>();

async function exclusive<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const run = (inFlight.get(key) ?? Promise.resolve()).catch(() => undefined).then(fn);
  const tail = run.catch(() => undefined);
  inFlight.set(key, tail);
  try {
    return await run;
  } finally {
    if (inFlight.get(key) === tail) inFlight.delete(key);
  }
}

export class BlobCache {
  /** `dir` holds the blobs by hex digest: the daemon passes `<cacheDir>/oci/blobs/sha256`. */
  constructor(readonly dir: string) {}

  pathOf(digest: string): string {
    if (!isSha256Digest(digest))
      throw new BangerError(ErrorCode.Config, `${JSON.stringify(digest)} is not a sha256 digest`);
    return join(this.dir, digest.slice('sha256:'.length));
  }

  /**
   * True when the blob is cached with its expected size. Only verified blobs are ever renamed
   * into place, so a wrong size (a zero-byte file, a truncated copy) is damage: it is removed.
   */
  async has(blob: Descriptor): Promise<boolean> {
    const path = this.pathOf(blob.digest);
    const st = await stat(path).catch(() => undefined);
    if (st === undefined) return false;
    if (st.isFile() && st.size === blob.size && st.size > 0) return true;
    await rm(path, { force: true, recursive: true });
    return false;
  }

  /** The path of the verified blob, downloading it from `source` when it is not cached. */
  async fetch(blob: Descriptor, source: BlobSource, options: FetchOptions = {}): Promise<string> {
    const path = this.pathOf(blob.digest);
    return exclusive(path, async () => {
      if (await this.has(blob)) {
        options.onProgress?.(blob.size, blob.size);
        return path;
      }
      await mkdir(this.dir, { recursive: true });
      const attempts = Math.max(1, options.attempts ?? 3);
      for (let attempt = 1; ; attempt++) {
        try {
          await this.download(blob, source, path, options);
          return path;
        } catch (err) {
          if (options.signal?.aborted) throw this.cancelled(blob, source, err);
          if (!(err instanceof Interrupted)) throw err;
          if (attempt >= attempts) {
            throw new BangerError(
              ErrorCode.Config,
              `download of blob ${blob.digest} from ${source.name} broke off ${attempts} times (${err.message}); retry: the next pull resumes where this one stopped`,
              { cause: err },
            );
          }
        }
      }
    });
  }

  /**
   * Fetches every blob, `concurrency` at a time, and returns their paths in order. The first
   * failure stops the others; the blobs verified by then stay cached for the retry.
   */
  async fetchAll(
    blobs: readonly Descriptor[],
    source: BlobSource,
    options: FetchAllOptions = {},
  ): Promise<string[]> {
    const controller = new AbortController();
    const outer = options.signal;
    const onAbort = () => controller.abort(outer?.reason);
    outer?.addEventListener('abort', onAbort, { once: true });
    if (outer?.aborted) onAbort();
    const paths: string[] = new Array<string>(blobs.length);
    let next = 0;
    let failure: Error | undefined;
    const worker = async () => {
      while (failure === undefined && next < blobs.length) {
        const i = next++;
        const blob = blobs[i]!;
        try {
          paths[i] = await this.fetch(blob, source, {
            signal: controller.signal,
            attempts: options.attempts,
            onProgress: options.onProgress && ((r, t) => options.onProgress!(blob, r, t)),
          });
        } catch (err) {
          failure ??= err instanceof Error ? err : new Error(errorMessage(err));
          controller.abort(err);
        }
      }
    };
    try {
      await Promise.all(
        Array.from(
          { length: Math.min(Math.max(1, options.concurrency ?? 3), blobs.length) },
          worker,
        ),
      );
    } finally {
      outer?.removeEventListener('abort', onAbort);
    }
    if (failure !== undefined) throw failure;
    return paths;
  }

  /** Removes partial downloads (e.g. older than a day): they are only worth keeping to resume. */
  async removePartials(olderThanMs = 0): Promise<void> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    for (const name of names.filter((n) => n.endsWith('.partial'))) {
      const st = await stat(join(this.dir, name)).catch(() => undefined);
      if (st && Date.now() - st.mtimeMs >= olderThanMs)
        await rm(join(this.dir, name), { force: true });
    }
  }

  private async download(
    blob: Descriptor,
    source: BlobSource,
    path: string,
    options: FetchOptions,
  ): Promise<void> {
    const partial = `${path}.partial`;
    const resumable = (await stat(partial).catch(() => undefined)) !== undefined;
    try {
      await this.resume(blob, source, partial, path, options);
    } catch (err) {
      // A part kept to resume is worth nothing on a full disk: it is what fills it.
      if (isDiskFull(err)) await rm(partial, { force: true });
      // The old part may be what is wrong: a resumed blob that fails to verify starts over once.
      if (resumable && err instanceof DigestMismatch) {
        throw new Interrupted('the resumed download did not verify; starting over');
      }
      throw err;
    }
  }

  private async resume(
    blob: Descriptor,
    source: BlobSource,
    partial: string,
    path: string,
    options: FetchOptions,
  ): Promise<void> {
    let offset = (await stat(partial).catch(() => undefined))?.size ?? 0;
    if (offset > blob.size) {
      await rm(partial, { force: true });
      offset = 0;
    }
    const hash = createHash('sha256');
    if (offset > 0) await hashFile(partial, offset, hash);
    if (offset > 0 && offset === blob.size) {
      // A complete partial (a failure between hashing and renaming): verify it, no transfer.
      await this.publish(blob, source, hash, blob.size, partial, path);
      return;
    }
    let res = await source.open(blob.digest, { offset, signal: options.signal });
    if (res === null) {
      // The server cannot resume from there: start over.
      await rm(partial, { force: true });
      res = await source.open(blob.digest, { offset: 0, signal: options.signal });
      if (res === null) throw new Interrupted('the registry refused a whole-blob request with 416');
      return this.transfer(blob, source, res, 0, createHash('sha256'), partial, path, options);
    }
    if (res.start !== offset) {
      // A 200 to a Range request: the server sends it all, so the partial is started over.
      return this.transfer(blob, source, res, 0, createHash('sha256'), partial, path, options);
    }
    return this.transfer(blob, source, res, offset, hash, partial, path, options);
  }

  private async transfer(
    blob: Descriptor,
    source: BlobSource,
    res: BlobBody,
    offset: number,
    hash: Hash,
    partial: string,
    path: string,
    options: FetchOptions,
  ): Promise<void> {
    const { body } = res;
    if (res.start !== offset) {
      body.on('error', () => undefined);
      body.destroy();
      throw new Interrupted(`the registry answered a range request from ${offset} at ${res.start}`);
    }
    if (res.length !== undefined && offset + res.length !== blob.size) {
      body.on('error', () => undefined);
      body.destroy();
      await rm(partial, { force: true });
      throw this.mismatch(
        blob,
        source,
        `the registry sends ${offset + res.length} bytes, the manifest says ${blob.size}`,
      );
    }
    let received = offset;
    let oversized = false;
    let bodyError: unknown;
    body.on('error', (err) => (bodyError ??= err));
    const meter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        received += chunk.length;
        if (received > blob.size) {
          oversized = true;
          done(new Error('oversized'));
          return;
        }
        hash.update(chunk);
        options.onProgress?.(received, blob.size);
        done(null, chunk);
      },
    });
    try {
      await pipeline(body, meter, createWriteStream(partial, { flags: offset > 0 ? 'a' : 'w' }), {
        signal: options.signal,
      });
      // Durable before it is renamed into the cache: a crash must not leave a short "verified" blob.
      const fh = await open(partial, 'r');
      await fh.sync().finally(() => fh.close());
    } catch (err) {
      if (oversized) {
        await rm(partial, { force: true });
        throw this.mismatch(
          blob,
          source,
          `the registry sends more than the manifest's ${blob.size} bytes`,
        );
      }
      if (options.signal?.aborted) throw err;
      if (bodyError !== undefined || received < blob.size) {
        throw new Interrupted(
          `${errorMessage(bodyError ?? err)} after ${received} of ${blob.size} bytes`,
        );
      }
      throw new BangerError(
        ErrorCode.Config,
        `cannot write ${partial}: ${errorMessage(err)}; free space in the cache directory, then retry`,
        { cause: err },
      );
    }
    if (received < blob.size)
      throw new Interrupted(`the transfer ended after ${received} of ${blob.size} bytes`);
    await this.publish(blob, source, hash, received, partial, path);
  }

  private async publish(
    blob: Descriptor,
    source: BlobSource,
    hash: Hash,
    bytes: number,
    partial: string,
    path: string,
  ): Promise<void> {
    const got = `sha256:${hash.digest('hex')}`;
    if (got !== blob.digest || bytes !== blob.size) {
      await rm(partial, { force: true });
      throw this.mismatch(blob, source, `got ${got}, ${bytes} of ${blob.size} bytes`);
    }
    await rename(partial, path);
  }

  private mismatch(blob: Descriptor, source: BlobSource, detail: string): BangerError {
    return new DigestMismatch(
      ErrorCode.Config,
      `blob ${blob.digest} from ${source.name} does not match its digest (${detail}); the registry holds a corrupt copy: push the image again or tell the registry's owner (nothing was cached)`,
    );
  }

  private cancelled(blob: Descriptor, source: BlobSource, cause: unknown): BangerError {
    if (cause instanceof BangerError && cause.code === ErrorCode.Cancelled) return cause;
    return new BangerError(
      ErrorCode.Cancelled,
      `download of blob ${blob.digest} from ${source.name} was cancelled`,
      { cause },
    );
  }
}

async function hashFile(path: string, bytes: number, hash: Hash): Promise<void> {
  for await (const chunk of createReadStream(path, { start: 0, end: bytes - 1 }))
    hash.update(chunk as Buffer);
}
