import type { Command } from 'commander';
import { examples } from '../output.js';
import { registerImageBuild } from './build.js';
import { registerImageDelete } from './delete.js';
import { registerImageExport } from './export.js';
import { registerImageList } from './list.js';
import { registerImagePromote } from './promote.js';
import { registerImagePull } from './pull.js';
import { registerImageRegister } from './register.js';
import { registerImageShow } from './show.js';
import { registerImageWarm } from './warm.js';

export function registerImage(program: Command): void {
  const image = program
    .command('image')
    .description('Build, pull, register and manage the root filesystems VMs boot from')
    .addHelpText(
      'after',
      `\n"banger vm run" builds or pulls the default image by itself when it is missing.\n` +
        examples([
          'banger image ls',
          'banger image build',
          'banger image pull debian-bookworm',
          'banger image register my-distro --rootfs root.ext4 --kernel-ref debian-bookworm-cloud',
        ]),
    );
  registerImageList(image);
  registerImageShow(image);
  registerImageBuild(image);
  registerImagePull(image);
  registerImageRegister(image);
  registerImagePromote(image);
  registerImageExport(image);
  registerImageWarm(image);
  registerImageDelete(image);
}
