import type { Command } from 'commander';
import { notYet } from '../not-yet.js';
import { examples } from '../output.js';

export function registerImageDelete(image: Command): void {
  image
    .command('delete')
    .alias('rm')
    .description('Delete a local image; refused while a VM uses it (the VMs are named)')
    .argument('<name>', 'the image to delete')
    .addHelpText('after', examples(['banger image rm my-image']))
    .action(notYet('image delete'));
}
