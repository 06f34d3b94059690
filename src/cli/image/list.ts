import type { Command } from 'commander';
import { examples, printJson } from '../output.js';

export function registerImageList(image: Command): void {
  image
    .command('list')
    .alias('ls')
    .description('List local images')
    .option('--json', 'print the list as JSON')
    .addHelpText('after', examples(['banger image ls', 'banger image list --json']))
    .action(async (opts: { json?: boolean }) => {
      const { withDaemon } = await import('../with-daemon.js');
      const { images } = await withDaemon((c) => c.call('image.list', {}));
      if (opts.json) return printJson(images);
      if (images.length === 0) {
        process.stdout.write('no local images — "banger image build" builds the default one\n');
        return;
      }
      const { imageTable } = await import('./render.js');
      process.stdout.write(imageTable(images));
    });
}
