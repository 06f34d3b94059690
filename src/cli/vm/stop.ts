import type { Command } from 'commander';
import { examples } from '../output.js';

export function registerVmStop(vm: Command): void {
  vm.command('stop')
    .description(
      'Shut VMs down gracefully (ACPI power-off, forced after a timeout); disks are kept',
    )
    .argument('<names...>', 'VMs to stop')
    .addHelpText('after', examples(['banger vm stop blue-fox', 'banger vm stop blue-fox red-owl']))
    .action(async (names: string[]) => {
      const { forEachVm } = await import('./each.js');
      await forEachVm('stop', names, async (c, ref) => {
        const r = await c.call('vm.stop', { ref });
        return r.wasRunning ? `${r.name} stopped` : `${r.name} was not running`;
      });
    });
}
