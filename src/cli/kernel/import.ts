import { resolve } from 'node:path';
import type { Command } from 'commander';
import { examples } from '../output.js';

export function registerKernelImport(kernel: Command): void {
  kernel
    .command('import')
    .description(
      'Copy a kernel you built (kernel, optional initrd and modules) into banger as a local kernel',
    )
    .argument('<name>', 'the new kernel name')
    .requiredOption('--from <dir>', 'the directory holding it')
    .addHelpText(
      'after',
      `\nDIR/metadata.json names the files when present; otherwise banger looks for\n` +
        `boot/vmlinux-* or boot/vmlinuz-*, boot/initramfs-* and the newest lib/modules/<version>.\n` +
        examples([
          'banger kernel import my-6.12 --from ./build/kernel',
          'banger image register my-distro --rootfs root.ext4 --kernel-ref my-6.12',
        ]),
    )
    .action(async (name: string, opts: { from: string }) => {
      const { withDaemon } = await import('../with-daemon.js');
      const k = await withDaemon((c) =>
        c.call('kernel.import', { name, from: resolve(opts.from) }),
      );
      process.stdout.write(
        `imported kernel ${k.name}${k.version ? ` (${k.version})` : ''}: ${k.kernel}\n`,
      );
    });
}
