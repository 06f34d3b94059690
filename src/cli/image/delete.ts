import type { Command } from 'commander';
import { examples } from '../output.js';

export function registerImageDelete(image: Command): void {
  image
    .command('delete')
    .alias('rm')
    .description('Delete a local image; refused while a VM uses it (the VMs are named)')
    .argument('<name>', 'the image to delete')
    .addHelpText(
      'after',
      examples(['banger image rm dev-image   # an image you built (banger image build dev-image)']),
    )
    .action(async (name: string) => {
      const { withDaemon } = await import('../with-daemon.js');
      await withDaemon((c) => c.call('image.delete', { name }));
      process.stdout.write(`deleted image ${name}\n`);
    });
}
