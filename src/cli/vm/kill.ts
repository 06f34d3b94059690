import type { Command } from 'commander';
import { examples } from '../output.js';

export function registerVmKill(vm: Command): void {
  vm.command('kill')
    .description('Stop VMs at once, without a clean shutdown (for a guest that does not answer)')
    .argument('<names...>', 'VMs to kill')
    .addHelpText('after', examples(['banger vm kill blue-fox']))
    .action(async (names: string[]) => {
      const { forEachVm } = await import('./each.js');
      await forEachVm('kill', names, async (c, ref) => {
        const r = await c.call('vm.kill', { ref });
        return r.wasRunning ? `${r.name} killed` : `${r.name} was not running`;
      });
    });
}
