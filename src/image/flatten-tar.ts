import { readdir } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { TreeMetadata } from '../disk/ext4.js';
import { BangerError, ErrorCode } from '../errors.js';
import { TreeWriter, walkTar } from './tree-writer.js';

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
  await assertEmpty(destDir);
  const writer = new TreeWriter(destDir);
  await walkTar(input, 'rootfs tar', (header, body) => writer.add(header, body), options.signal);
  await writer.finish();
  return writer.metadata;
}

export async function assertEmpty(destDir: string): Promise<void> {
  if ((await readdir(destDir)).length > 0) {
    throw new BangerError(ErrorCode.Conflict, `cannot extract into ${destDir}: it is not empty`);
  }
}
