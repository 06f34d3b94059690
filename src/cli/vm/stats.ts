import type { Command } from 'commander';
import { notYet } from '../not-yet.js';
import { examples } from '../output.js';

export function registerVmStats(vm: Command): void {
  vm.command('stats')
    .description(
      "Show a VM's resource use: host CPU, RSS and disk; guest uptime and memory when running",
    )
    .argument('<name>', 'the VM to measure')
    .option('--json', 'print the figures as JSON')
    .addHelpText('after', examples(['banger vm stats blue-fox', 'banger vm stats blue-fox --json']))
    .action(notYet('vm stats'));
}
