import type { Command } from 'commander';
import { examples } from '../output.js';

/** `vm stop [--save]`, and `vm suspend` (the same as --save). */
export function registerVmStop(vm: Command): void {
  vm.command('stop')
    .description(
      'Shut VMs down gracefully (ACPI power-off, forced after a timeout); disks are kept',
    )
    .argument('<names...>', 'VMs to stop')
    .option(
      '--save',
      'save memory and device state next to the disks instead: the next "vm start" resumes the processes where they were',
    )
    .addHelpText(
      'after',
      examples(['banger vm stop blue-fox', 'banger vm stop --save blue-fox red-owl']),
    )
    .action((names: string[], opts: { save?: boolean }) => stopEach(names, opts.save === true));
  vm.command('suspend')
    .description('Save VMs’ memory and device state and stop them (vm stop --save)')
    .argument('<names...>', 'VMs to suspend')
    .addHelpText('after', examples(['banger vm suspend blue-fox', 'banger vm start blue-fox']))
    .action((names: string[]) => stopEach(names, true));
}

async function stopEach(names: string[], save: boolean): Promise<void> {
  const { forEachVm } = await import('./each.js');
  const { formatSizeApprox } = await import('../../config/size.js');
  await forEachVm(save ? 'suspend' : 'stop', names, async (c, ref) => {
    const r = await c.call('vm.stop', { ref, ...(save ? { save } : {}) });
    if (r.savedBytes !== undefined)
      return `${r.name} suspended (${formatSizeApprox(r.savedBytes)} saved)`;
    return r.wasRunning ? `${r.name} stopped` : `${r.name} was not running`;
  });
}
