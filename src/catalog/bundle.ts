// An image bundle is a .tar.zst of exactly rootfs.ext4 + manifest.json. It comes from the
// network, so every member is checked by name and type before a byte of it is written; a pull
// extracts it as it downloads (fetchBundle) and publishes only once its sha256 checked out.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { z } from 'zod';
import { BangerError, ErrorCode, errorMessage } from '../errors.js';
import { isValidName, nameProblem } from '../config/names.js';
import { MiB } from '../config/size.js';
import {
  bad,
  entryBytes,
  memberPath,
  openArchive,
  readCapped,
  walkTarZstStream,
  writeSparse,
} from './tar-zst.js';
import type { Runner } from '../system/runner.js';
import { streamDownload, type DownloadOptions, type DownloadResult } from './download.js';
import { ImageFileName } from '../config/layout.js';

export interface BundleManifest {
  name: string;
  distro?: string;
  arch?: string;
  kernelRef?: string;
  description?: string;
}

const manifestSchema = z.strictObject({
  name: z.string().refine(isValidName, { error: (i) => nameProblem('image', String(i.input)) }),
  distro: z.string().optional(),
  arch: z.string().optional(),
  kernel_ref: z
    .string()
    .refine(isValidName, { error: (i) => nameProblem('kernel', String(i.input)) })
    .optional(),
  description: z.string().optional(),
});

const ROOTFS = ImageFileName.rootfs;
const MANIFEST = 'manifest.json';
const MAX_MANIFEST_BYTES = 64 * 1024;
/**
 * zstd level for packBundle, measured here (2 CPUs, -T0) packing a 1 GiB ext4 holding 329 MB of
 * /usr/bin: -3 10.6 s → 111 MB, -10 14.5 s → 97 MB, -19 226 s → 86 MB; a 1 GiB all-zero sparse
 * file takes 3-6 s at any level. -19 costs 15x the time for 12% less, so 10; decompression runs
 * at the same speed for every level.
 */
export const DEFAULT_ZSTD_LEVEL = 10;

export { entryBytes, memberPath, walkTarZst, walkTarZstStream, writeSparse } from './tar-zst.js';
export type { TarEntry } from './tar-zst.js';

export function parseManifest(text: string, what: string): BundleManifest {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw bad(what, `not valid JSON: ${errorMessage(err)}`, err);
  }
  const result = manifestSchema.safeParse(data);
  if (!result.success) {
    const issue = result.error.issues[0];
    const key = issue?.code === 'unrecognized_keys' ? issue.keys[0] : issue?.path.join('.');
    const message = issue?.code === 'unrecognized_keys' ? 'unknown key' : issue?.message;
    throw bad(what, `${key ? `${key}: ` : ''}${message ?? 'invalid'}`, result.error);
  }
  const { name, distro, arch, kernel_ref: kernelRef, description } = result.data;
  const manifest: BundleManifest = { name };
  if (distro !== undefined) manifest.distro = distro;
  if (arch !== undefined) manifest.arch = arch;
  if (kernelRef !== undefined) manifest.kernelRef = kernelRef;
  if (description !== undefined) manifest.description = description;
  return manifest;
}

export function manifestToJson(m: BundleManifest): string {
  const raw = {
    name: m.name,
    distro: m.distro,
    arch: m.arch,
    kernel_ref: m.kernelRef,
    description: m.description,
  };
  return `${JSON.stringify(raw, null, 2)}\n`;
}

/**
 * Extracts rootfs.ext4 (sparse) and manifest.json into destDir, a staging dir the caller owns;
 * on failure whatever this wrote there is removed.
 */
export async function extractBundle(
  bundleFile: string,
  destDir: string,
  runner: Runner,
  options: { signal?: AbortSignal } = {},
): Promise<BundleManifest> {
  const what = `bundle ${bundleFile}`;
  const input = await openArchive(bundleFile, what);
  try {
    return await extractBundleStream(
      input.createReadStream({ highWaterMark: MiB }),
      destDir,
      runner,
      { ...options, what },
    );
  } finally {
    await input.close().catch(() => undefined);
  }
}

/**
 * extractBundle for a stream of compressed bytes (a download as it arrives): every member is
 * checked before a byte of it is written, and a rejected one destroys `compressed` at once.
 * `what` names the source in errors ("bundle URL").
 */
export async function extractBundleStream(
  compressed: Readable,
  destDir: string,
  runner: Runner,
  options: { signal?: AbortSignal; what?: string } = {},
): Promise<BundleManifest> {
  const what = options.what ?? 'bundle';
  const written: string[] = [];
  let manifest: BundleManifest | undefined;
  try {
    await walkTarZstStream(
      compressed,
      runner,
      what,
      async (entry) => {
        const name = memberPath(what, entry.header.name);
        if (name !== ROOTFS && name !== MANIFEST) {
          throw bad(what, `unexpected member ${JSON.stringify(entry.header.name)}`);
        }
        if (entry.header.type !== 'file') {
          const kind = entry.header.type === 'link' ? 'hard link' : entry.header.type;
          throw bad(what, `${name} is a ${kind.replace('-', ' ')}, not a regular file`);
        }
        const dest = join(destDir, name);
        if (written.includes(dest)) throw bad(what, `${name} appears twice`);
        written.push(dest);
        if (name === MANIFEST) {
          const data = await readCapped(
            entryBytes(entry),
            MAX_MANIFEST_BYTES,
            `${what}: ${MANIFEST}`,
          );
          // Checked as soon as it is read: packBundle puts it first, before the big rootfs.
          manifest = parseManifest(data.toString('utf8'), `${what}: ${MANIFEST}`);
          await writeFile(dest, data, { flag: 'wx', mode: 0o644 });
        } else {
          await writeSparse(entryBytes(entry), dest);
        }
      },
      options.signal,
    );
    if (!written.includes(join(destDir, ROOTFS))) throw bad(what, `missing member ${ROOTFS}`);
    if (manifest === undefined) throw bad(what, `missing member ${MANIFEST}`);
    return manifest;
  } catch (err) {
    await Promise.all(written.map((f) => rm(f, { force: true })));
    throw err;
  }
}

/**
 * Downloads a bundle and extracts it into destDir as it arrives (hashing the compressed bytes
 * on the way), so a pull costs one pass over the network and none over a temporary file. It
 * resolves only when the body ended with the catalog's size and sha256 and every member
 * checked out; on any failure, including a sha256 mismatch found after the last byte, what it
 * wrote to destDir is removed, and a rejected member aborts the transfer at once.
 */
export async function fetchBundle(
  url: string,
  destDir: string,
  runner: Runner,
  options: DownloadOptions = {},
): Promise<DownloadResult & { manifest: BundleManifest }> {
  let extracted = false;
  try {
    const { value, ...result } = await streamDownload(
      url,
      async (body) => {
        const manifest = await extractBundleStream(body, destDir, runner, {
          what: `bundle ${url}`,
          ...(options.signal ? { signal: options.signal } : {}),
        });
        extracted = true;
        return manifest;
      },
      options,
    );
    return { ...result, manifest: value };
  } catch (err) {
    // A failed extraction cleaned up after itself; a transfer that failed afterwards did not.
    if (extracted) {
      await Promise.all([ROOTFS, MANIFEST].map((n) => rm(join(destDir, n), { force: true })));
    }
    throw err;
  }
}

/** Packs rootfsFile (streamed) + manifest into outFile via outFile.tmp and a rename. */
export async function packBundle(
  rootfsFile: string,
  manifest: BundleManifest,
  outFile: string,
  runner: Runner,
  options: { signal?: AbortSignal; level?: number } = {},
): Promise<{ sha256: string; bytes: number }> {
  const manifestData = Buffer.from(manifestToJson(manifest));
  try {
    parseManifest(manifestData.toString('utf8'), 'bundle manifest');
  } catch (err) {
    throw new BangerError(ErrorCode.Usage, errorMessage(err));
  }
  const info = await stat(rootfsFile);
  if (!info.isFile()) throw bad(rootfsFile, 'not a regular file');
  const tmp = `${outFile}.tmp`;
  const stop = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
  const level = options.level ?? DEFAULT_ZSTD_LEVEL;
  const child = runner.stream('zstd', [`-${level}`, '-T0', '-c'], { signal });
  const pack = tar.pack();
  const hash = createHash('sha256');
  let bytes = 0;
  const header = { mode: 0o644, uid: 0, gid: 0, uname: 'root', gname: 'root', mtime: info.mtime };
  const produce = async () => {
    pack.entry({ ...header, name: MANIFEST, size: manifestData.length }, manifestData);
    const entry = pack.entry({ ...header, name: ROOTFS, size: info.size });
    await pipeline(createReadStream(rootfsFile, { highWaterMark: MiB }), entry);
    pack.finalize();
  };
  // The first failure stops the rest: zstd is killed and the tar stream destroyed.
  let firstError: unknown;
  const guard = (p: Promise<unknown>) =>
    p.catch((err: unknown) => {
      firstError ??= err;
      stop.abort();
      pack.destroy();
      throw err;
    });
  const results = await Promise.allSettled([
    guard(produce()),
    guard(pipeline(pack, child.stdin)),
    guard(
      pipeline(
        child.stdout,
        async function* (source: AsyncIterable<Buffer>) {
          for await (const chunk of source) {
            hash.update(chunk);
            bytes += chunk.length;
            yield chunk;
          }
        },
        createWriteStream(tmp),
      ),
    ),
    guard(child.done),
  ]);
  if (results.some((r) => r.status === 'rejected')) {
    await rm(tmp, { force: true });
    // zstd dying shows up first as a closed pipe; its own exit status says why.
    const zstd = results[3];
    const reason: unknown =
      isClosedPipe(firstError) && zstd?.status === 'rejected' ? zstd.reason : firstError;
    if (options.signal?.aborted) throw new BangerError(ErrorCode.Cancelled, 'packing cancelled');
    if (reason instanceof BangerError) throw reason;
    throw new BangerError(ErrorCode.Internal, `packing ${outFile}: ${errorMessage(reason)}`, {
      cause: reason,
    });
  }
  await rename(tmp, outFile);
  return { sha256: hash.digest('hex'), bytes };
}

function isClosedPipe(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return (
    code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'EPIPE' || code === 'ERR_STREAM_DESTROYED'
  );
}
