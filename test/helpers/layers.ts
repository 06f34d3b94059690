import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Layer } from '../../src/image/oci/flatten-layers.js';
import { tarBytes, type TarMember } from './tar.js';

export const MEDIA = {
  tar: 'application/vnd.oci.image.layer.v1.tar',
  gzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  dockerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  zstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
} as const;

export function compress(bytes: Buffer, mediaType: string): Buffer {
  if (mediaType.endsWith('gzip')) return gzipSync(bytes);
  if (mediaType.endsWith('zstd')) return execFileSync('zstd', ['-q', '-c'], { input: bytes });
  return bytes;
}

/** A layer blob written to `dir` the way a blob cache holds it: compressed, named by digest. */
export async function layerOf(
  dir: string,
  members: TarMember[],
  mediaType: string = MEDIA.gzip,
  mangle: (blob: Buffer) => Buffer = (b) => b,
): Promise<Layer> {
  const blob = mangle(compress(await tarBytes(members), mediaType));
  const digest = `sha256:${createHash('sha256').update(blob).digest('hex')}`;
  const file = join(dir, digest.replace(':', '-'));
  await writeFile(file, blob);
  return { digest, mediaType, open: () => createReadStream(file) };
}

/** Every path below `root`, sorted, a directory with a trailing "/", a symlink with "->". */
export async function listTree(root: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const name of (await readdir(join(root, prefix))).sort()) {
    const path = prefix === '' ? name : `${prefix}/${name}`;
    const st = await lstat(join(root, path));
    if (st.isDirectory()) out.push(`${path}/`, ...(await listTree(root, path)));
    else if (st.isSymbolicLink()) out.push(`${path} ->`);
    else out.push(path);
  }
  return out;
}
