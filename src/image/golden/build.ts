import { copyFile, cp, mkdir, readdir, rm } from 'node:fs/promises';
import { removeWorkDir } from '../../system/work-dir.js';
import { join } from 'node:path';
import { applyOwnership, buildExt4, ext4SizeFor, treeBytes } from '../../disk/ext4.js';
import { BangerError, ErrorCode } from '../../errors.js';
import { installGuestAssets, metadataRecorder } from '../../guest/install.js';
import { extractVmlinux, hasPvhEntry } from '../../kernel/extract-vmlinux.js';
import { buildInitramfs } from '../../kernel/initramfs.js';
import type { Runner } from '../../system/runner.js';
import { flattenTar } from '../flatten-tar.js';
import { mmdebstrapArgs, type MmdebstrapPlan } from './mmdebstrap.js';
import { ImageFileName, KernelFileName } from '../../config/layout.js';

export interface GoldenBuildInput extends MmdebstrapPlan {
  /** Scratch space for the extracted tree; removed when the build ends. */
  workDir: string;
  /** Receives rootfs.ext4. */
  imageDir: string;
  /** Receives vmlinuz, vmlinux (when it can boot directly), initrd.img and modules/. */
  kernelDir: string;
  sizeBytes?: number;
  runner: Runner;
  signal?: AbortSignal;
  progress: (stage: string, detail?: string) => void;
}

export interface GoldenBuildResult {
  rootfsBytes: number;
  kernelVersion: string;
  modules: string[];
  directBoot: boolean;
}

/**
 * mmdebstrap → tar stream → tree (owners captured) → banger's guest assets → kernel and
 * initramfs out of the tree → ext4 → owners applied with debugfs. Everything is written
 * into the caller's staging dirs; the caller publishes them.
 */
export async function buildGoldenImage(input: GoldenBuildInput): Promise<GoldenBuildResult> {
  const { runner, signal } = input;
  const tree = join(input.workDir, 'tree');
  await mkdir(tree, { recursive: true });
  await mkdir(input.aptCacheDir, { recursive: true });
  try {
    input.progress('bootstrap', `mmdebstrap ${input.recipe.suite} from ${input.mirror}`);
    // If extraction fails, mmdebstrap must not be left blocked on a pipe nobody reads.
    const stop = new AbortController();
    const forward = () => stop.abort(signal?.reason);
    signal?.addEventListener('abort', forward, { once: true });
    // Its own TMPDIR: mmdebstrap's chroot (and the mounts inside it) live under workDir, where
    // the cleanup below finds them even when the build is cancelled mid-way.
    const tmp = join(input.workDir, 'tmp');
    await mkdir(tmp, { recursive: true });
    const mm = runner.stream('mmdebstrap', mmdebstrapArgs(input), {
      signal: stop.signal,
      env: { TMPDIR: tmp },
      processGroup: true,
    });
    mm.stdin.end();
    const extracted = flattenTar(mm.stdout, tree, { signal }).catch((err: unknown) => {
      stop.abort(err);
      throw err;
    });
    // The first failure is the story, but the cleanup below waits until mmdebstrap exited:
    // a cancelled one is still unmounting and removing its chroot, and the caller's answer
    // (the CLI's Ctrl-C waits for it) must come after that, not while it runs.
    let failure: { err: unknown } | undefined;
    const first = (p: Promise<unknown>) =>
      p.catch((err: unknown) => {
        failure ??= { err };
      });
    await Promise.all([first(extracted), first(mm.done)]);
    signal?.removeEventListener('abort', forward);
    if (failure) throw failure.err;
    const metadata = await extracted;

    input.progress('guest', "installing banger's guest assets and boot trims");
    const written = new Set<string>();
    await installGuestAssets(tree, metadataRecorder(metadata, written));

    input.progress('kernel', 'copying the kernel and its modules out of the image');
    const kernel = await takeKernel(tree, input.kernelDir, runner);
    // Kept beside the kernel too: pulled images get them as a disk (kernel/modules-disk.ts).
    await cp(
      join(tree, 'usr/lib/modules', kernel.version),
      join(input.kernelDir, KernelFileName.modules),
      { recursive: true, verbatimSymlinks: true },
    );
    input.progress('initramfs', `modules for kernel ${kernel.version}`);
    const modules = await buildInitramfs({
      modulesDir: join(tree, 'usr/lib/modules', kernel.version),
      busybox: join(tree, 'usr/bin/busybox'),
      outFile: join(input.kernelDir, KernelFileName.initrd),
    });
    // The guest boots banger's kernel files; its own /boot copies are dead weight.
    for (const name of await readdir(join(tree, 'boot')))
      await rm(join(tree, 'boot', name), { recursive: true });

    const size = input.sizeBytes ?? ext4SizeFor(await treeBytes(tree));
    input.progress('ext4', `${Math.round(size / 2 ** 20)} MiB file system`);
    const rootfs = join(input.imageDir, ImageFileName.rootfs);
    await buildExt4(tree, rootfs, size, runner);
    input.progress('ownership', 'setting owners and modes with debugfs');
    // As root the extraction already chowned everything but what banger wrote itself.
    const asRoot = process.getuid?.() === 0;
    await applyOwnership(rootfs, metadata, runner, asRoot ? (p) => written.has(p) : undefined);
    return {
      rootfsBytes: size,
      kernelVersion: kernel.version,
      modules,
      directBoot: kernel.directBoot,
    };
  } finally {
    await removeWorkDir(input.workDir, runner);
  }
}

async function takeKernel(tree: string, kernelDir: string, runner: Runner) {
  const boot = join(tree, 'boot');
  const images = (await readdir(boot)).filter((n) => n.startsWith('vmlinuz-')).sort();
  const latest = images.at(-1);
  if (!latest)
    throw new BangerError(
      ErrorCode.Internal,
      'the image build installed no kernel (no /boot/vmlinuz-*)',
      {
        hint: 'the recipe must install a linux-image package',
      },
    );
  const version = latest.slice('vmlinuz-'.length);
  await copyFile(join(boot, latest), join(kernelDir, KernelFileName.bzImage));
  const vmlinux = join(kernelDir, KernelFileName.vmlinux);
  await extractVmlinux(join(kernelDir, KernelFileName.bzImage), vmlinux, runner);
  const directBoot = await hasPvhEntry(vmlinux);
  if (!directBoot) await rm(vmlinux, { force: true });
  return { version, directBoot };
}
