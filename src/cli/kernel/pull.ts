import type { Command } from 'commander';
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
      `\nThe embedded catalog's kernel is not downloaded: "banger image build" makes it. Kernels to\n` +
        `download come from the catalog files named by [catalog] kernels in config.toml.\n` +
        examples([
          'banger kernel list --available   # pull takes the entries whose HOW is download',
          'banger kernel pull NAME --force  # NAME from that list; --force replaces a local copy',
        ]),
    )
    .action(async (name: string, opts: { force?: boolean }) => {
      const { callWithProgress } = await import('../with-daemon.js');
      const k = await callWithProgress('kernel.pull', { name, force: Boolean(opts.force) });
      process.stdout.write(
        `pulled kernel ${k.name}${k.version ? ` (${k.version})` : ''}: ${k.kernel}\n`,
      );
    });
}
