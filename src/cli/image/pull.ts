import type { Command } from 'commander';
import { nameValue } from '../flag-values.js';
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
    .description('Fetch an image from a catalog (or build it locally when its entry has a recipe)')
    .argument('<name>', 'the catalog entry (see the catalogs in config.toml)', nameValue('image'));
  addKernelFlags(pull)
    .addHelpText(
      'after',
      `\nKernel: --kernel-ref, else the entry's kernel_ref (pulled when missing), else --kernel.\n` +
        `The bundle's sha256 is checked before anything is published.\n` +
        examples([
          'banger image pull debian-bookworm   # the embedded entry: built here, not downloaded',
          `${EXAMPLE}   # an entry of a [catalog] images file`,
        ]),
    )
    .hook('preAction', (_, cmd) => checkKernelFlags(cmd.opts<KernelFlags>(), EXAMPLE, false))
    .action(async (name: string, opts: KernelFlags) => {
      const { callWithProgress } = await import('../with-daemon.js');
      const image = await callWithProgress('image.pull', { name, ...kernelParams(opts) });
      const { imageTable } = await import('./render.js');
      process.stdout.write(imageTable([image]));
    });
}
