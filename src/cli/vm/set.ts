import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { formatSpec } from '../../config/vm-defaults.js';
import { examples } from '../output.js';
import { addSpecFlags, type SpecFlags } from './spec-flags.js';

export function registerVmSet(vm: Command): void {
  const set = vm
    .command('set')
    .description(
      "Change a stopped VM's vCPUs, memory or work disk size (the disk only grows), or any VM's egress",
    )
    .argument('<name>', 'the VM to change');
  addSpecFlags(set)
    .addHelpText(
      'after',
      examples([
        'banger vm set blue-fox --memory 4G',
        'banger vm set blue-fox --vcpu 4 --disk-size 20G',
        'banger vm set blue-fox --egress pypi.org,files.pythonhosted.org',
      ]),
    )
    .option(
      '--egress <policy>',
      "what the guest may reach outside: none, all, or names (HTTP(S) through banger's proxy); a running VM gets it at its next connection",
    )
    .hook('preAction', (_, cmd) => {
      const { vcpu, memory, diskSize, egress } = cmd.opts<SpecFlags & { egress?: string }>();
      if (vcpu === undefined && memory === undefined && diskSize === undefined && !egress)
        throw new UsageError('nothing to change: give --vcpu, --memory, --disk-size or --egress', {
          hint: `e.g. banger vm set ${cmd.args[0] ?? 'NAME'} --memory 4G`,
        });
    })
    .action(async (ref: string, flags: SpecFlags & { egress?: string }) => {
      const { withDaemon } = await import('../with-daemon.js');
      const resize = [flags.vcpu, flags.memory, flags.diskSize].some((f) => f !== undefined);
      const v = await withDaemon(async (c) => {
        let detail = resize
          ? await c.call('vm.set', {
              ref,
              ...(flags.vcpu !== undefined ? { vcpu: flags.vcpu } : {}),
              ...(flags.memory !== undefined ? { memoryMiB: flags.memory } : {}),
              ...(flags.diskSize !== undefined ? { diskBytes: flags.diskSize } : {}),
            })
          : undefined;
        if (flags.egress !== undefined)
          detail = await c.call('vm.egress.set', { ref, egress: flags.egress });
        return detail!;
      });
      process.stdout.write(
        `${v.name}: ${resize ? formatSpec(v) : ''}${resize && flags.egress ? ' · ' : ''}${flags.egress ? `egress ${v.egress}` : ''}\n`,
      );
    });
}
