import type { Command } from 'commander';
import { notYet } from '../not-yet.js';
import { examples } from '../output.js';

export function registerVmRestart(vm: Command): void {
  vm.command('restart')
    .description('Stop VMs gracefully and boot them again; the work disk in /root is kept')
    .argument('<names...>', 'VMs to restart')
    .addHelpText('after', examples(['banger vm restart blue-fox']))
    .action(notYet('vm restart'));
}
