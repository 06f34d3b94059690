import type { Command } from 'commander';
import { nameValue } from '../flag-values.js';
import { notYet } from '../not-yet.js';
import { examples } from '../output.js';
import { addKernelFlags, checkKernelFlags, type KernelFlags } from './kernel-flags.js';

const EXAMPLE = 'banger image pull team-base --kernel-ref debian-bookworm-cloud';

export function registerImagePull(image: Command): void {
  const pull = image
    .command('pull')
    .description('Fetch an image from a catalog (or build it locally when its entry has a recipe)')
    .argument('<name>', 'the catalog entry (see the catalogs in config.toml)')
    .option(
      '--name <name>',
      'the local image name (default: the catalog name)',
      nameValue('image', '--name'),
    );
  addKernelFlags(pull)
    .addHelpText(
      'after',
      `\nKernel: --kernel-ref, else the entry's kernel_ref (pulled when missing), else --kernel.\n` +
        `The bundle's sha256 is checked before anything is published.\n` +
        examples([
          'banger image pull debian-bookworm',
          EXAMPLE,
          'banger image pull team-base --name base',
        ]),
    )
    .hook('preAction', (_, cmd) => checkKernelFlags(cmd.opts<KernelFlags>(), EXAMPLE, false))
    .action(notYet('image pull'));
}
