import { lstat, mkdir, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { applyOwnership, buildExt4, treeBytes, type TreeMetadata } from '../../disk/ext4.js';
import { MiB } from '../../config/size.js';
import { BangerError, ErrorCode } from '../../errors.js';
import { stagedFilePath } from '../../system/atomic-publish.js';
import type { Runner } from '../../system/runner.js';
import { removeWorkDir } from '../../system/work-dir.js';
import { assembleKit, type KitManifest } from './assemble.js';
import { bootstrapKitTree } from './bootstrap.js';
import { KIT_SUITE } from './layout.js';
import { readKitSshdConfig } from './sshd-config.js';

export interface GuestKitBuildInput {
  /** The kit's ext4; written as `.<name>.<random>.staging` beside it and renamed. */
  outFile: string;
  /** Scratch space (the unpacked packages, the kit tree); removed when the build ends. */
  workDir: string;
  runner: Runner;
  signal?: AbortSignal;
  progress: (stage: string, detail?: string) => void;
  /** .debs kept between builds; the golden build's apt cache is a fine one to share. */
  aptCacheDir: string;
  /** Debian mirror; default: the one this host's apt sources use for bookworm. */
  mirror?: string;
  /** The security archive; default: the host's, when the mirror is the host's too. */
  securityMirror?: string;
}

export interface GuestKitBuildResult {
  outFile: string;
  bytes: number;
  manifest: KitManifest;
}

/**
 * The guest kit: Debian packages unpacked without root (mmdebstrap extract), cut down to
 * self-contained programs under the kit prefix (assemble.ts), made an ext4 owned by root.
 */
export async function buildGuestKit(input: GuestKitBuildInput): Promise<GuestKitBuildResult> {
  const { runner, signal } = input;
  const sources = await mirrors(input);
  const tree = join(input.workDir, 'debian');
  const kit = join(input.workDir, 'kit');
  const staged = stagedFilePath(input.outFile);
  await mkdir(kit, { recursive: true });
  try {
    input.progress('kit-packages', `mmdebstrap ${KIT_SUITE} (extract) from ${sources.mirror}`);
    const packages = await bootstrapKitTree(
      { ...sources, aptCacheDir: input.aptCacheDir },
      tree,
      input.workDir,
      runner,
      signal,
    );
    signal?.throwIfAborted();
    input.progress('kit-assemble', `${packages.size} packages → programs, libraries, loader`);
    const manifest = await assembleKit(tree, kit, await readKitSshdConfig(), packages, runner);
    signal?.throwIfAborted();

    const bytes = kitExt4Size(await treeBytes(kit));
    input.progress('kit-ext4', `${Math.round(bytes / MiB)} MiB file system`);
    await buildExt4(kit, staged, bytes, runner);
    // mkfs.ext4 -d copies the builder's owner: every kit file must be root's.
    if (process.getuid?.() !== 0) await applyOwnership(staged, await rootOwned(kit), runner);
    signal?.throwIfAborted();
    await rename(staged, input.outFile);
    return { outFile: input.outFile, bytes, manifest };
  } catch (err) {
    await rm(staged, { force: true });
    throw err;
  } finally {
    await removeWorkDir(input.workDir, runner);
  }
}

/** Content plus a third for inode tables and the journal: the kit is read-only in the guest. */
export function kitExt4Size(contentBytes: number): number {
  return Math.ceil(Math.max(contentBytes * 1.34 + 8 * MiB, 32 * MiB) / MiB) * MiB;
}

async function mirrors(input: GuestKitBuildInput) {
  if (input.mirror) return { mirror: input.mirror, securityMirror: input.securityMirror };
  const { debianMirror, hostAptSources, securityMirror } =
    await import('../../image/golden/apt-sources.js');
  const sources = await hostAptSources();
  const mirror = debianMirror(sources, KIT_SUITE);
  if (!mirror)
    throw new BangerError(
      ErrorCode.Config,
      `no Debian mirror for ${KIT_SUITE} in this host's apt sources`,
      {
        hint: 'set image_build.mirror in config.toml (e.g. "http://deb.debian.org/debian")',
      },
    );
  return { mirror, securityMirror: input.securityMirror ?? securityMirror(sources, KIT_SUITE) };
}

/** Every entry of the kit tree as root:root, its mode as on disk. */
async function rootOwned(dir: string): Promise<TreeMetadata> {
  const metadata: TreeMetadata = new Map();
  const walk = async (rel: string): Promise<void> => {
    for (const entry of await readdir(join(dir, rel), { withFileTypes: true })) {
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      const st = await lstat(join(dir, path));
      const type = entry.isDirectory() ? 'directory' : entry.isSymbolicLink() ? 'symlink' : 'file';
      metadata.set(path, { type, uid: 0, gid: 0, mode: st.mode & 0o7777 });
      if (entry.isDirectory()) await walk(path);
    }
  };
  await walk('');
  return metadata;
}
