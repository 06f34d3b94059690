import type { Command } from 'commander';
import { notYet } from '../not-yet.js';
import { examples } from '../output.js';

export function registerVmStop(vm: Command): void {
  vm.command('stop')
    .description(
      'Shut VMs down gracefully (ACPI power-off, forced after a timeout); disks are kept',
    )
    .argument('<names...>', 'VMs to stop')
    .addHelpText('after', examples(['banger vm stop blue-fox', 'banger vm stop blue-fox red-owl']))
    .action(notYet('vm stop'));
}
