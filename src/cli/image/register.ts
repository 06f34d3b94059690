import { resolve } from 'node:path';
import type { Command } from 'commander';
import { nameValue } from '../flag-values.js';
import { examples } from '../output.js';
import {
  addKernelFlags,
  checkKernelFlags,
  kernelParams,
  type KernelFlags,
} from './kernel-flags.js';

const EXAMPLE =
  'banger image register my-distro --rootfs ./rootfs.ext4 --kernel-ref debian-bookworm-cloud';

export function registerImageRegister(image: Command): void {
  const register = image
    .command('register')
    .description('Register an existing ext4 root filesystem and its kernel as an image')
    .argument('<name>', 'the new image name', nameValue('image'))
    .requiredOption(
      '--rootfs <file>',
      'the ext4 root filesystem (never written to; VMs get a copy-on-write overlay)',
    );
  addKernelFlags(register)
    .addHelpText(
      'after',
      `\nThe kernel is either --kernel-ref, or --kernel with optional --initrd and --modules.\n` +
        examples([
          EXAMPLE,
          'banger image register custom --rootfs root.ext4 --kernel vmlinuz --initrd initrd.img --modules ./lib/modules/6.1.0',
        ]),
    )
    .hook('preAction', (_, cmd) => checkKernelFlags(cmd.opts<KernelFlags>(), EXAMPLE, true))
    .action(async (name: string, opts: KernelFlags & { rootfs: string }) => {
      const { withDaemon } = await import('../with-daemon.js');
      const image = await withDaemon((c) =>
        c.call('image.register', { name, rootfs: resolve(opts.rootfs), ...kernelParams(opts) }),
      );
      const { imageTable } = await import('./render.js');
      process.stdout.write(imageTable([image]));
    });
}
