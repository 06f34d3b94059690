// Downloads stream to disk while hashing, so a multi-GB bundle is never held in memory and is
// checked against its catalog sha256 before anyone reads it; a failed download leaves no file.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { getGlobalDispatcher, interceptors, request, type Dispatcher } from 'undici';
import { BangerError, ErrorCode, errorMessage } from '../errors.js';

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
  try {
    return await fetchTo(url, destFile, options);
  } catch (err) {
    await rm(destFile, { force: true });
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

async function fetchTo(url: string, destFile: string, options: DownloadOptions) {
  const { body, declared } = await open(url, options.signal);
  const expected = options.expectedBytes;
  if (expected !== undefined && declared !== undefined && declared !== expected) {
    discard(body);
    throw new Failure(`the source has ${declared} bytes, the catalog says ${expected}`);
  }
  const total = declared ?? expected;
  const hash = createHash('sha256');
  let received = 0;
  try {
    await pipeline(
      body,
      async function* (source: AsyncIterable<Buffer>) {
        for await (const chunk of source) {
          received += chunk.length;
          // Stop an endless or oversized body instead of filling the disk.
          if (total !== undefined && received > total) {
            throw new Failure(`more than the expected ${total} bytes`);
          }
          hash.update(chunk);
          options.onProgress?.(received, total);
          yield chunk;
        }
      },
      createWriteStream(destFile),
      options.signal ? { signal: options.signal } : {},
    );
  } catch (err) {
    if (err instanceof Failure || total === undefined || received >= total) throw err;
    throw new Failure(`truncated: received ${received} of ${total} bytes`, { cause: err });
  }
  if (total !== undefined && received !== total) {
    throw new Failure(`truncated: received ${received} of ${total} bytes`);
  }
  const sha256 = hash.digest('hex');
  if (options.sha256 !== undefined && sha256 !== options.sha256) {
    throw new BangerError(
      ErrorCode.Config,
      `sha256 mismatch for ${url}: expected ${options.sha256}, got ${sha256}`,
      { hint: 'the file changed since the catalog was written: update the catalog entry' },
    );
  }
  return { sha256, bytes: received };
}

async function open(
  url: string,
  signal: AbortSignal | undefined,
): Promise<{ body: Readable; declared: number | undefined }> {
  if (!/^https?:\/\//i.test(url)) {
    const path = /^file:/i.test(url) ? fileURLToPath(url) : url;
    const { size } = await stat(path);
    return { body: createReadStream(path), declared: size };
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
