import type { Command } from 'commander';
import { notYet } from '../not-yet.js';
import { examples } from '../output.js';

export function registerVmKill(vm: Command): void {
  vm.command('kill')
    .description('Stop VMs at once, without a clean shutdown (for a guest that does not answer)')
    .argument('<names...>', 'VMs to kill')
    .addHelpText('after', examples(['banger vm kill blue-fox']))
    .action(notYet('vm kill'));
}
