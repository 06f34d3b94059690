import type { Command } from 'commander';
import { examples } from '../output.js';

/** `vm pause` and `vm resume`: the vCPUs stop and go on; memory and processes are kept. */
export function registerVmPause(vm: Command): void {
  vm.command('pause')
    .description(
      'Stop running VMs where they are: memory, processes and the ssh connection are kept',
    )
    .argument('<names...>', 'VMs to pause')
    .addHelpText('after', examples(['banger vm pause blue-fox', 'banger vm resume blue-fox']))
    .action(async (names: string[]) => {
      const { forEachVm } = await import('./each.js');
      await forEachVm('pause', names, async (c, ref) => {
        const r = await c.call('vm.pause', { ref });
        return `${r.name} paused`;
      });
    });
  vm.command('resume')
    .description('Let paused VMs run on from where they stopped')
    .argument('<names...>', 'VMs to resume')
    .addHelpText('after', examples(['banger vm resume blue-fox']))
    .action(async (names: string[]) => {
      const { forEachVm } = await import('./each.js');
      await forEachVm('resume', names, async (c, ref) => {
        const r = await c.call('vm.resume', { ref });
        return `${r.name} resumed`;
      });
    });
}
