import type { Command } from 'commander';
import { examples, printJson } from '../output.js';

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
    .action(async (name: string, opts: { json?: boolean }) => {
      const { withDaemon } = await import('../with-daemon.js');
      const k = await withDaemon((c) => c.call('kernel.show', { name }));
      if (opts.json) return printJson(k);
      process.stdout.write(
        [
          `name:     ${k.name}`,
          `version:  ${k.version || '-'}`,
          `source:   ${k.source}`,
          `kernel:   ${k.kernel}`,
          `initrd:   ${k.initrd ?? '-'}`,
          `modules:  ${k.modulesDir ?? '-'}`,
          `sha256:   ${k.sha256}`,
          `created:  ${k.createdAt}`,
          `used by:  ${k.usedBy.length ? k.usedBy.join(', ') : 'no images'}`,
        ].join('\n') + '\n',
      );
    });
}
