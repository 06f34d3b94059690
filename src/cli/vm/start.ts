import type { Command } from 'commander';
import { notYet } from '../not-yet.js';
import { examples } from '../output.js';

export function registerVmStart(vm: Command): void {
  vm.command('start')
    .description('Boot stopped VMs and wait until each answers on ssh')
    .argument('<names...>', 'VMs to start')
    .addHelpText(
      'after',
      examples(['banger vm start blue-fox', 'banger vm start blue-fox red-owl']),
    )
    .action(notYet('vm start'));
}
