import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { formatSpec } from '../../config/vm-defaults.js';
import { examples } from '../output.js';
import { addSpecFlags, type SpecFlags } from './spec-flags.js';

export function registerVmSet(vm: Command): void {
  const set = vm
    .command('set')
    .description("Change a stopped VM's vCPUs, memory or work disk size (the disk only grows)")
    .argument('<name>', 'the VM to change');
  addSpecFlags(set)
    .addHelpText(
      'after',
      examples([
        'banger vm set blue-fox --memory 4G',
        'banger vm set blue-fox --vcpu 4 --disk-size 20G',
      ]),
    )
    .hook('preAction', (_, cmd) => {
      const { vcpu, memory, diskSize } = cmd.opts<SpecFlags>();
      if (vcpu === undefined && memory === undefined && diskSize === undefined)
        throw new UsageError('nothing to change: give --vcpu, --memory or --disk-size', {
          hint: `e.g. banger vm set ${cmd.args[0] ?? 'NAME'} --memory 4G`,
        });
    })
    .action(async (ref: string, flags: SpecFlags) => {
      const { withDaemon } = await import('../with-daemon.js');
      const v = await withDaemon((c) =>
        c.call('vm.set', {
          ref,
          ...(flags.vcpu !== undefined ? { vcpu: flags.vcpu } : {}),
          ...(flags.memory !== undefined ? { memoryMiB: flags.memory } : {}),
          ...(flags.diskSize !== undefined ? { diskBytes: flags.diskSize } : {}),
        }),
      );
      process.stdout.write(`${v.name}: ${formatSpec(v)}\n`);
    });
}
