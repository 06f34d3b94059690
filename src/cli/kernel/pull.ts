import type { Command } from 'commander';
import { notYet } from '../not-yet.js';
import { examples } from '../output.js';

export function registerKernelPull(kernel: Command): void {
  kernel
    .command('pull')
    .description(
      'Download a kernel from the kernel catalog; its sha256 is checked before it is kept',
    )
    .argument('<name>', 'the catalog entry (see "banger kernel ls --available")')
    .option('--force', 'replace a local kernel of the same name')
    .addHelpText(
      'after',
      examples(['banger kernel list --available', 'banger kernel pull generic-6.12']),
    )
    .action(notYet('kernel pull'));
}
