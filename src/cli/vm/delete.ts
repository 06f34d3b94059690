import type { Command } from 'commander';
import { examples } from '../output.js';

export function registerVmDelete(vm: Command): void {
  vm.command('delete')
    .alias('rm')
    .description(
      'Delete VMs and their disks; a running VM is killed first (its disks are going anyway)',
    )
    .argument('<names...>', 'VMs to delete')
    .addHelpText('after', examples(['banger vm rm blue-fox', 'banger vm delete blue-fox red-owl']))
    .action(async (names: string[]) => {
      const { forEachVm } = await import('./each.js');
      await forEachVm('delete', names, async (c, ref) => {
        const r = await c.call('vm.delete', { ref });
        return `${r.name} deleted`;
      });
    });
}
