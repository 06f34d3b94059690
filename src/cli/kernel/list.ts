import type { Command } from 'commander';
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
      const { withDaemon } = await import('../with-daemon.js');
      if (opts.available) {
        const { kernels: offered } = await withDaemon((c) => c.call('kernel.catalog', {}));
        if (opts.json) return printJson(offered);
        const { formatSizeApprox } = await import('../../config/size.js');
        const rows = offered.map((k) => [
          k.name,
          k.local ? 'local' : 'available',
          k.how,
          k.version || '-',
          k.sizeBytes ? formatSizeApprox(k.sizeBytes) : '-',
          k.source,
          k.description,
        ]);
        process.stdout.write(
          renderTable(['NAME', 'STATE', 'HOW', 'VERSION', 'SIZE', 'CATALOG', 'DESCRIPTION'], rows),
        );
        return;
      }
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
