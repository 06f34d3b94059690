import type { Command } from 'commander';
import { nameValue, sizeValue } from '../flag-values.js';
import { examples } from '../output.js';
import { collectPackages, mirrorValue } from './build-flags.js';

export function registerImageBuild(image: Command): void {
  image
    .command('build')
    .description(
      'Build the golden Debian image locally with mmdebstrap, and the kernel that boots it',
    )
    .argument(
      '[name]',
      'the image name (default: default_image_name, "debian-bookworm")',
      nameValue('image'),
    )
    .option(
      '--size <size>',
      'rootfs size (default: content × 1.5, at least 1G)',
      sizeValue('--size', '4G'),
    )
    .option(
      '--package <pkg>',
      'an extra Debian package; repeat, or separate with commas',
      collectPackages,
    )
    .option(
      '--mirror <url>',
      "the Debian mirror (default: from config, else the host's apt sources)",
      mirrorValue,
    )
    .addHelpText(
      'after',
      `\nNo Docker and nothing downloaded from us: every package comes from the Debian mirror.\n` +
        examples([
          'banger image build',
          'banger image build --package jq --package build-essential,python3',
          'banger image build dev-image --size 8G --mirror http://deb.debian.org/debian',
        ]),
    )
    .action(
      async (
        name: string | undefined,
        opts: { size?: number; package?: string[]; mirror?: string },
      ) => {
        const { callWithProgress } = await import('../with-daemon.js');
        const image = await callWithProgress('image.build', {
          ...(name ? { name } : {}),
          ...(opts.size ? { sizeBytes: opts.size } : {}),
          ...(opts.package?.length ? { packages: opts.package } : {}),
          ...(opts.mirror ? { mirror: opts.mirror } : {}),
        });
        const { imageTable } = await import('./render.js');
        process.stdout.write(imageTable([image]));
      },
    );
}
