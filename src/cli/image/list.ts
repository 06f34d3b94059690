import type { Command } from 'commander';
import { formatSize } from '../../config/size.js';
import { examples, formatAge, printJson, renderTable } from '../output.js';

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
      const rows = images.map((i) => [
        i.name,
        i.distro || '-',
        i.kernel ?? '-',
        formatSize(i.sizeBytes),
        i.managed ? 'managed' : 'registered',
        formatAge(i.createdAt),
      ]);
      process.stdout.write(
        renderTable(['NAME', 'DISTRO', 'KERNEL', 'SIZE', 'KIND', 'CREATED'], rows),
      );
    });
}
