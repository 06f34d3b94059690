import type { Command } from 'commander';
import { notYet } from '../not-yet.js';
import { examples } from '../output.js';

export function registerKernelShow(kernel: Command): void {
  kernel
    .command('show')
    .description('Show one kernel: version, source, files (kernel, initrd, modules) and sha256')
    .argument('<name>', 'the kernel to show')
    .option('--json', 'print the kernel as JSON')
    .addHelpText(
      'after',
      examples([
        'banger kernel show debian-bookworm-cloud',
        'banger kernel show debian-bookworm-cloud --json',
      ]),
    )
    .action(notYet('kernel show'));
}
