import type { Command } from 'commander';
import { resolve } from 'node:path';
import { nameValue, sizeValue } from '../flag-values.js';
import { examples } from '../output.js';

interface MakeBundleFlags {
  rootfsTar: string;
  name: string;
  distro?: string;
  arch: string;
  kernelRef?: string;
  description?: string;
  size?: number;
  out: string;
}

/** Runs here, not in the daemon: it reads the caller's tar (or stdin) and writes their file. */
export function registerMakeBundle(internal: Command): void {
  internal
    .command('make-bundle')
    .description('Turn a rootfs tar into an image bundle (rootfs.ext4 + manifest.json, .tar.zst)')
    .requiredOption('--rootfs-tar <file>', 'the rootfs as a tar file, or - for stdin')
    .requiredOption('--name <name>', 'the image name in the manifest', nameValue('image', '--name'))
    .option('--distro <distro>', 'e.g. debian')
    .option('--arch <arch>', 'the architecture', 'x86_64')
    .option(
      '--kernel-ref <name>',
      'the kernel this image boots with',
      nameValue('kernel', '--kernel-ref'),
    )
    .option('--description <text>', 'one line for catalogs')
    .option(
      '--size <size>',
      'rootfs size (default: content × 1.5, at least 1G)',
      sizeValue('--size', '4G'),
    )
    .requiredOption('--out <file>', 'where to write the bundle')
    .addHelpText(
      'after',
      examples([
        'mmdebstrap bookworm - | banger internal make-bundle --rootfs-tar - --name my-image --distro debian --kernel-ref debian-bookworm-cloud --out my-image.tar.zst',
      ]),
    )
    .action(async (opts: MakeBundleFlags) => {
      const { makeBundle, openRootfsTar } = await import('../../image/make-bundle.js');
      const { realRunner } = await import('../../system/runner.js');
      const { resolveLayout } = await import('../../config/layout.js');
      const { ProgressRenderer } = await import('../progress.js');
      const progress = new ProgressRenderer('make-bundle');
      const out = resolve(opts.out);
      const result = await makeBundle({
        rootfsTar: await openRootfsTar(opts.rootfsTar === '-' ? '-' : resolve(opts.rootfsTar)),
        manifest: {
          name: opts.name,
          arch: opts.arch,
          ...(opts.distro ? { distro: opts.distro } : {}),
          ...(opts.kernelRef ? { kernelRef: opts.kernelRef } : {}),
          ...(opts.description ? { description: opts.description } : {}),
        },
        out,
        ...(opts.size ? { sizeBytes: opts.size } : {}),
        scratchDir: resolveLayout().cacheDir,
        runner: realRunner,
        progress: progress.onProgress,
      }).finally(() => progress.done());
      process.stdout.write(`path:   ${out}\nsha256: ${result.sha256}\nsize:   ${result.bytes}\n`);
    });
}
