import type { Command } from 'commander';
import { notYet } from '../not-yet.js';
import { examples } from '../output.js';

export function registerVmDelete(vm: Command): void {
  vm.command('delete')
    .alias('rm')
    .description('Delete VMs and their disks; a running VM is stopped first')
    .argument('<names...>', 'VMs to delete')
    .addHelpText('after', examples(['banger vm rm blue-fox', 'banger vm delete blue-fox red-owl']))
    .action(notYet('vm delete'));
}
