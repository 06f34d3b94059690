// Reading a .tar.zst safely: members walked one at a time (zstd -d on a file or a stream),
// paths checked before anything is written, files written sparse, small members read capped.
import { open, type FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { BangerError, ErrorCode, SubprocessError, errorMessage } from '../errors.js';
import { MiB } from '../config/size.js';
import type { Runner } from '../system/runner.js';

export function bad(what: string, message: string, cause?: unknown): BangerError {
  return new BangerError(ErrorCode.Config, `${what}: ${message}`, {
    hint: 'the archive is damaged or was not made by banger: rebuild or re-download it',
    cause,
  });
}

/**
 * A member path relative to the archive root ("./" and a trailing "/" dropped), or an error
 * when it is absolute or has a ".." segment; "" is the root itself.
 */
export function memberPath(what: string, name: string): string {
  const segments = name.split('/').filter((s) => s !== '' && s !== '.');
  if (name.startsWith('/') || segments.includes('..') || name.includes('\0')) {
    throw bad(what, `unsafe member path ${JSON.stringify(name)}`);
  }
  return segments.join('/');
}

/** One member of a tar stream: its header, and a readable of its bytes. */
export type TarEntry = tar.Extract extends AsyncIterable<infer E> ? E : never;

/** The bytes of a member: streamx's types omit the async iterator its streams do have. */
export function entryBytes(entry: TarEntry): AsyncIterable<Buffer> {
  return entry as unknown as AsyncIterable<Buffer>;
}
const EARLY_END = /unexpected end of data|premature close/i;

/**
 * Streams `file` through `zstd -d -c` into a tar parser, calling `onEntry` for each member in
 * order (it must consume the entry); see walkTarZstStream.
 */
export async function walkTarZst(
  file: string,
  runner: Runner,
  what: string,
  onEntry: (entry: TarEntry) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  const input = await openArchive(file, what);
  try {
    await walkTarZstStream(
      input.createReadStream({ highWaterMark: MiB }),
      runner,
      what,
      onEntry,
      signal,
    );
  } finally {
    await input.close().catch(() => undefined);
  }
}

export async function openArchive(file: string, what: string): Promise<FileHandle> {
  return open(file).catch((err: unknown) => {
    throw bad(what, `cannot read: ${errorMessage(err)}`, err);
  });
}

/**
 * Streams compressed bytes (a file, a download as it arrives) through `zstd -d -c` into a tar
 * parser, calling `onEntry` for each member in order (it must consume the entry). A rejected
 * member stops everything at once: zstd is killed and `input` destroyed (a download is
 * dropped). The error reported is the cause: a rejected member, else a corrupt tar header,
 * else zstd's own complaint (a truncated stream), else an early end of the tar, else the
 * input's own error.
 */
export async function walkTarZstStream(
  input: Readable,
  runner: Runner,
  what: string,
  onEntry: (entry: TarEntry) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  const stop = new AbortController();
  const child = runner.stream('zstd', ['-d', '-c'], {
    signal: signal ? AbortSignal.any([signal, stop.signal]) : stop.signal,
  });
  const extract = tar.extract();
  let entryError: unknown;
  const consume = async () => {
    for await (const entry of extract) {
      try {
        await onEntry(entry);
      } catch (err) {
        // A failing tar stream fails the entry being read: that is reported as a tar error.
        if (!extract.destroying) {
          entryError = err;
          stop.abort();
          input.destroy();
        }
        throw err;
      }
    }
  };
  const [feed, zstd, parse, walk] = await Promise.allSettled([
    pipeline(input, child.stdin),
    // zstd gone means nobody reads the input any more: let its source go too.
    child.done.catch((err: unknown) => {
      input.destroy();
      throw err;
    }),
    pipeline(child.stdout, extract),
    consume(),
  ]);
  if (signal?.aborted) throw new BangerError(ErrorCode.Cancelled, `${what}: cancelled`);
  if (entryError !== undefined) {
    throw entryError instanceof Error ? entryError : new Error(errorMessage(entryError));
  }
  const tarFail = [parse, walk].find((r) => r.status === 'rejected');
  const tarCause: unknown = tarFail?.status === 'rejected' ? tarFail.reason : undefined;
  const tarError = tarFail ? errorMessage(tarCause) : undefined;
  // A tar error other than an early end came first (zstd then only saw its pipe closed); an
  // early end is zstd's to explain when zstd failed.
  if (tarError !== undefined && !EARLY_END.test(tarError)) {
    throw bad(what, `corrupt tar archive: ${tarError.replace(/\. Maybe .*$/, '')}`, tarCause);
  }
  if (zstd.status === 'rejected') {
    const reason = zstd.reason instanceof SubprocessError ? zstdComplaint(zstd.reason) : '';
    throw bad(what, `truncated or corrupt zstd stream${reason ? `: ${reason}` : ''}`, zstd.reason);
  }
  if (tarError !== undefined) throw bad(what, `truncated tar archive: ${tarError}`, tarCause);
  if (feed.status === 'rejected') throw bad(what, errorMessage(feed.reason), feed.reason);
}

/**
 * What a failed `zstd -d` said, in one line: its first (the lines after it advise flags of
 * its own command line, such as --long=31 for a window too large to decode).
 */
export function zstdComplaint(err: SubprocessError): string {
  const first = err.stderrTail.split('\n').find((l) => l.trim() !== '') ?? '';
  return first.replace(/^.*?\*stdin\*\\\s*:\s*/, '').trim();
}

/**
 * Writes a stream to a new file, leaving all-zero chunks as holes (an ext4 image is mostly
 * zeros). Data is written in batches, one batch in flight while the next is read.
 */
export async function writeSparse(
  stream: AsyncIterable<Buffer>,
  path: string,
  mode = 0o644,
): Promise<number> {
  const fh = await open(path, 'wx', mode);
  let inflight: Promise<unknown> | undefined;
  let batch: Buffer[] = [];
  let batchBytes = 0;
  let batchAt = 0;
  let pos = 0;
  const flush = async () => {
    if (batchBytes === 0) return;
    const [buffers, at] = [batch, batchAt];
    [batch, batchBytes] = [[], 0];
    await inflight;
    inflight = fh.writev(buffers, at);
    inflight.catch(() => undefined); // rethrown by the next await
  };
  try {
    for await (const chunk of stream) {
      if (isZero(chunk)) {
        await flush();
      } else {
        if (batchBytes === 0) batchAt = pos;
        batch.push(chunk);
        batchBytes += chunk.length;
        if (batchBytes >= WRITE_BATCH_BYTES || batch.length >= 512) await flush();
      }
      pos += chunk.length;
    }
    await flush();
    await inflight;
    await fh.truncate(pos);
    return pos;
  } finally {
    await inflight?.catch(() => undefined);
    await fh.close();
  }
}

const WRITE_BATCH_BYTES = 4 * MiB;
const ZEROS = Buffer.alloc(MiB);
function isZero(chunk: Buffer): boolean {
  for (let off = 0; off < chunk.length; off += ZEROS.length) {
    const part = chunk.subarray(off, off + ZEROS.length);
    if (!part.equals(ZEROS.subarray(0, part.length))) return false;
  }
  return true;
}

export async function readCapped(
  entry: AsyncIterable<Buffer>,
  limit: number,
  what: string,
): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of entry) {
    total += chunk.length;
    if (total > limit) throw bad(what, `larger than ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
