// Downloads stream while hashing, so a multi-GB bundle is never held in memory, and are checked
// against their catalog sha256 before anything is published; a failed download leaves no file.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { addAbortSignal, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { getGlobalDispatcher, interceptors, request, type Dispatcher } from 'undici';
import { BangerError, ErrorCode, errorMessage } from '../errors.js';
import { MiB } from '../config/size.js';

export interface DownloadOptions {
  /** Lowercase hex; a mismatch is an error and the file is removed. */
  sha256?: string;
  /** The catalog's size_bytes: a body of another length is an error. */
  expectedBytes?: number;
  signal?: AbortSignal;
  onProgress?: (received: number, total: number | undefined) => void;
}

export interface DownloadResult {
  sha256: string;
  bytes: number;
}

/** Follows a few redirects: catalogs and bundles are often served from object stores. */
export function httpDispatcher(): Dispatcher {
  return getGlobalDispatcher().compose(interceptors.redirect({ maxRedirections: 5 }));
}

/** Drops a response body unread; undici reports its own abort as an error nobody needs. */
export function discard(body: Readable): void {
  body.on('error', () => undefined);
  body.destroy();
}

/** An expected failure whose message is already user-facing (no "download URL:" prefix). */
class Failure extends Error {}

export async function download(
  url: string,
  destFile: string,
  options: DownloadOptions = {},
): Promise<DownloadResult> {
  let written: Promise<void> | undefined;
  try {
    const { sha256, bytes } = await streamDownload(
      url,
      (body) => (written = pipeline(body, createWriteStream(destFile))),
      options,
    );
    return { sha256, bytes };
  } catch (err) {
    // The file stream opens asynchronously: removed before it settled, it could come back.
    await written?.catch(() => undefined);
    await rm(destFile, { force: true });
    throw err;
  }
}

/**
 * Streams the body of `url` (http(s), file:// or a path) through `consume` while hashing and
 * counting it, so a bundle can be unpacked as it arrives. `consume` must read the stream to its
 * end or fail; when it fails the transfer is dropped at once (the HTTP request is aborted).
 * Resolves only when the body ended, had the expected size and hashed to `sha256`: a consumer
 * that wrote anything must undo it when this rejects. The error reported is the cause: a
 * failing transfer (a truncated body, an oversized one) over what it did to the consumer.
 */
export async function streamDownload<T>(
  url: string,
  consume: (body: Readable) => Promise<T>,
  options: DownloadOptions = {},
): Promise<DownloadResult & { value: T }> {
  try {
    return await streamFrom(url, consume, options);
  } catch (err) {
    if (options.signal?.aborted) {
      throw new BangerError(ErrorCode.Cancelled, `download of ${url} was cancelled`, {
        cause: err,
      });
    }
    if (err instanceof BangerError) throw err;
    throw new BangerError(ErrorCode.Config, `download ${url}: ${errorMessage(err)}`, {
      hint: 'check the catalog entry, or retry if the server was interrupted',
      cause: err,
    });
  }
}

async function streamFrom<T>(
  url: string,
  consume: (body: Readable) => Promise<T>,
  options: DownloadOptions,
): Promise<DownloadResult & { value: T }> {
  const { body, declared } = await open(url, options.signal);
  const expected = options.expectedBytes;
  if (expected !== undefined && declared !== undefined && declared !== expected) {
    discard(body);
    throw new Failure(`the source has ${declared} bytes, the catalog says ${expected}`);
  }
  if (options.signal) addAbortSignal(options.signal, body);
  const total = declared ?? expected;
  const hash = createHash('sha256');
  let received = 0;
  // The transfer's own failure, recorded before the consumer hears of it, so that it is what
  // gets reported rather than the consumer's view of it (a short zstd stream, a broken pipe).
  let failure: Error | undefined;
  let ended = false;
  // The consumer failed or let go: the body is dropped on purpose and its errors are noise.
  let stopped = false;
  let settle!: () => void;
  const settled = new Promise<void>((resolve) => (settle = resolve));
  const stop = () => {
    if (stopped || ended || failure) return;
    stopped = true;
    discard(body);
    settle();
  };
  const out = new Readable({
    highWaterMark: MiB,
    read: () => body.resume(),
    destroy: (err, callback) => {
      stop();
      callback(err);
    },
  });
  const fail = (err: unknown) => {
    if (stopped || ended || failure) return;
    failure =
      err instanceof Failure || total === undefined || received >= total
        ? err instanceof Error
          ? err
          : new Error(errorMessage(err))
        : new Failure(`truncated: received ${received} of ${total} bytes`, { cause: err });
    discard(body);
    out.destroy(failure);
    settle();
  };
  body.on('data', (chunk: Buffer) => {
    if (stopped || failure) return;
    received += chunk.length;
    // Stop an endless or oversized body instead of filling the disk.
    if (total !== undefined && received > total) {
      fail(new Failure(`more than the expected ${total} bytes`));
      return;
    }
    hash.update(chunk);
    options.onProgress?.(received, total);
    if (!out.push(chunk)) body.pause();
  });
  body.on('end', () => {
    if (total !== undefined && received !== total) {
      fail(new Failure(`truncated: received ${received} of ${total} bytes`));
      return;
    }
    ended = true;
    out.push(null);
    settle();
  });
  body.on('error', fail);

  let value: T;
  try {
    value = await consume(out);
  } catch (err) {
    stop();
    out.destroy();
    throw failure ?? err;
  }
  // A consumer that is done early (it has all it needs) still gets the whole body checked.
  out.resume();
  await settled;
  if (failure) throw failure;
  if (stopped) throw new Failure(`stopped reading after ${received} bytes`);
  const sha256 = hash.digest('hex');
  if (options.sha256 !== undefined && sha256 !== options.sha256) {
    throw new BangerError(
      ErrorCode.Config,
      `sha256 mismatch for ${url}: expected ${options.sha256}, got ${sha256}`,
      { hint: 'the file changed since the catalog was written: update the catalog entry' },
    );
  }
  return { sha256, bytes: received, value };
}

async function open(
  url: string,
  signal: AbortSignal | undefined,
): Promise<{ body: Readable; declared: number | undefined }> {
  if (!/^https?:\/\//i.test(url)) {
    const path = /^file:/i.test(url) ? fileURLToPath(url) : url;
    const { size } = await stat(path);
    return { body: createReadStream(path, { highWaterMark: MiB }), declared: size };
  }
  const res = await request(url, { signal, dispatcher: httpDispatcher() });
  if (res.statusCode !== 200) {
    discard(res.body);
    throw new Failure(`HTTP status ${res.statusCode}`);
  }
  const header = res.headers['content-length'];
  const declared = typeof header === 'string' && /^\d+$/.test(header) ? Number(header) : undefined;
  return { body: res.body, declared };
}
