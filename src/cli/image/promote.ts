import type { Command } from 'commander';
import { nameValue } from '../flag-values.js';
import { examples } from '../output.js';

export function registerImagePromote(image: Command): void {
  image
    .command('promote')
    .description(
      "Turn a stopped VM's system disk into a new image, flattened and published atomically",
    )
    .argument('<vm>', 'the stopped VM to promote')
    .argument('<name>', 'the new image name', nameValue('image'))
    .addHelpText(
      'after',
      `\nThe work disk (/root) is not part of the image.\n` +
        examples(['banger vm stop blue-fox && banger image promote blue-fox bookworm-tools']),
    )
    .action(async (vm: string, name: string) => {
      const { callWithProgress } = await import('../with-daemon.js');
      const image = await callWithProgress('image.promote', { ref: vm, name });
      const { imageTable } = await import('./render.js');
      process.stdout.write(imageTable([image]));
    });
}
