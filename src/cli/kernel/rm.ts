import type { Command } from 'commander';
import { examples } from '../output.js';

export function registerKernelRm(kernel: Command): void {
  kernel
    .command('rm')
    .aliases(['delete', 'remove'])
    .description('Delete a local kernel; refused while an image uses it (the images are named)')
    .argument('<name>', 'the kernel to delete')
    .addHelpText(
      'after',
      examples(['banger kernel rm my-6.12   # a kernel you imported (banger kernel import)']),
    )
    .action(async (name: string) => {
      const { withDaemon } = await import('../with-daemon.js');
      await withDaemon((c) => c.call('kernel.delete', { name }));
      process.stdout.write(`deleted kernel ${name}\n`);
    });
}
