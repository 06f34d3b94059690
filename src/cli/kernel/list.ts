import type { Command } from 'commander';
import { notImplemented } from '../../errors.js';
import { examples, formatAge, printJson, renderTable } from '../output.js';

export function registerKernelList(kernel: Command): void {
  kernel
    .command('list')
    .alias('ls')
    .description('List local kernels (--available: the kernel catalog)')
    .option('--available', 'list the kernels the catalog offers, and which are pulled')
    .option('--json', 'print the list as JSON')
    .addHelpText('after', examples(['banger kernel ls', 'banger kernel list --available']))
    .action(async (opts: { json?: boolean; available?: boolean }) => {
      if (opts.available) throw notImplemented('banger kernel list --available');
      const { withDaemon } = await import('../with-daemon.js');
      const { kernels } = await withDaemon((c) => c.call('kernel.list', {}));
      if (opts.json) return printJson(kernels);
      if (kernels.length === 0) {
        process.stdout.write('no local kernels — building an image registers its kernel\n');
        return;
      }
      const rows = kernels.map((k) => [
        k.name,
        k.version || '-',
        k.source || '-',
        formatAge(k.createdAt),
      ]);
      process.stdout.write(renderTable(['NAME', 'VERSION', 'SOURCE', 'CREATED'], rows));
    });
}
