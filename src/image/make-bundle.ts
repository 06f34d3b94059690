import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { BangerError, ErrorCode } from '../errors.js';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { packBundle, type BundleManifest } from '../catalog/bundle.js';
import { applyOwnership, buildExt4, ext4SizeFor, treeBytes } from '../disk/ext4.js';
import { installGuestAssets, metadataRecorder } from '../guest/install.js';
import type { Runner } from '../system/runner.js';
import { flattenTar } from './flatten-tar.js';
import { CacheName, ImageFileName } from '../config/layout.js';

export interface MakeBundleInput {
  /** A rootfs tar (docker export, mmdebstrap … out.tar), as a stream. */
  rootfsTar: Readable;
  manifest: BundleManifest;
  out: string;
  sizeBytes?: number;
  scratchDir: string;
  runner: Runner;
  progress: (stage: string, detail?: string) => void;
}

/**
 * Turns a rootfs tar into a bundle another host can `banger image pull`: the same tree →
 * guest assets → ext4 → owners path as the golden build, then rootfs.ext4 + manifest.json
 * packed as .tar.zst.
 */
export async function makeBundle(
  input: MakeBundleInput,
): Promise<{ sha256: string; bytes: number }> {
  await mkdir(input.scratchDir, { recursive: true });
  const work = await mkdtemp(join(input.scratchDir, CacheName.makeBundlePrefix));
  try {
    const tree = join(work, 'tree');
    await mkdir(tree);
    input.progress('extract', 'rootfs tar');
    const metadata = await flattenTar(input.rootfsTar, tree);
    input.progress('guest', "installing banger's guest assets");
    await installGuestAssets(tree, metadataRecorder(metadata));
    const size = input.sizeBytes ?? ext4SizeFor(await treeBytes(tree));
    input.progress('ext4', `${Math.round(size / 2 ** 20)} MiB file system`);
    const rootfs = join(work, ImageFileName.rootfs);
    await buildExt4(tree, rootfs, size, input.runner);
    await rm(tree, { recursive: true, force: true });
    input.progress('ownership', 'setting owners and modes with debugfs');
    await applyOwnership(rootfs, metadata, input.runner);
    input.progress('pack', input.out);
    return await packBundle(rootfs, input.manifest, input.out, input.runner);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

export async function openRootfsTar(path: string): Promise<Readable> {
  if (path === '-') return process.stdin;
  const info = await stat(path).catch(() => undefined);
  if (!info?.isFile())
    throw new BangerError(ErrorCode.InvalidParams, `--rootfs-tar ${path} is not a file`, {
      hint: 'give a tar of the root file system, or - to read it from stdin',
    });
  return createReadStream(path);
}
