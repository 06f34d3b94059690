import type { Command } from 'commander';
import { notYet } from '../not-yet.js';
import { examples } from '../output.js';

export function registerImageShow(image: Command): void {
  image
    .command('show')
    .description('Show one image: distro, kernel, size, rootfs path and where it came from')
    .argument('<name>', 'the image to show')
    .option('--json', 'print the image as JSON')
    .addHelpText(
      'after',
      examples(['banger image show debian-bookworm', 'banger image show debian-bookworm --json']),
    )
    .action(notYet('image show'));
}
