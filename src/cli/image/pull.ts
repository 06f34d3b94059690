import type { Command } from 'commander';
import { nameValue, sizeValue } from '../flag-values.js';
import { examples } from '../output.js';
import {
  addKernelFlags,
  checkKernelFlags,
  kernelParams,
  type KernelFlags,
} from './kernel-flags.js';

const EXAMPLE = 'banger image pull team-base --kernel-ref debian-bookworm-cloud';

export function registerImagePull(image: Command): void {
  const pull = image
    .command('pull')
    .description(
      'Fetch an image from a catalog (or build it when its entry has a recipe), or from an OCI registry',
    )
    .argument(
      '<name|reference>',
      'a catalog entry, or an OCI reference: [registry/]repo[:tag|@sha256:…] (Docker Hub by default)',
    )
    .option(
      '--name <name>',
      'the name an OCI image gets (default: from the reference)',
      nameValue('image', '--name'),
    )
    .option(
      '--size <size>',
      "an OCI image's ext4 size (default: its content × 1.5, at least 1G)",
      sizeValue('--size', '4G'),
    );
  addKernelFlags(pull)
    .addHelpText(
      'after',
      `\nKernel: --kernel-ref, else the entry's kernel_ref (pulled when missing), else --kernel.\n` +
        `The bundle's sha256 is checked before anything is published. A name no catalog has is\n` +
        `pulled from a registry (linux/amd64); its layers are verified and cached, flattened into\n` +
        `an ext4 with their owners, and booted with the default image's kernel.\n` +
        examples([
          'banger image pull debian-bookworm   # the embedded entry: built here, not downloaded',
          `${EXAMPLE}   # an entry of a [catalog] images file`,
          'banger image pull docker.io/library/alpine:3.20   # from Docker Hub: image alpine-3-20',
        ]),
    )
    .hook('preAction', (_, cmd) => checkKernelFlags(cmd.opts<KernelFlags>(), EXAMPLE, false))
    .action(async (name: string, opts: KernelFlags & { name?: string; size?: number }) => {
      const { callWithProgress } = await import('../with-daemon.js');
      const image = await callWithProgress('image.pull', {
        name,
        ...(opts.name !== undefined ? { as: opts.name } : {}),
        ...(opts.size !== undefined ? { sizeBytes: opts.size } : {}),
        ...kernelParams(opts),
      });
      const { imageTable } = await import('./render.js');
      process.stdout.write(imageTable([image]));
    });
}
