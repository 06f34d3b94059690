import type { Command } from 'commander';
import { formatSize } from '../../config/size.js';
import { examples, formatAge, printJson, renderTable } from '../output.js';

export function registerVmList(vm: Command): void {
  vm.command('list')
    .alias('ls')
    .description('List VMs; a VM whose state cannot be read shows as broken, with its error')
    .option('--json', 'print the list as JSON')
    .addHelpText('after', examples(['banger vm ls', 'banger vm list --json']))
    .action(async (opts: { json?: boolean }) => {
      const { withDaemon } = await import('../with-daemon.js');
      const { vms } = await withDaemon((c) => c.call('vm.list', {}));
      if (opts.json) return printJson(vms);
      if (vms.length === 0) {
        process.stdout.write('no VMs yet — "banger vm run" boots one\n');
        return;
      }
      const rows = vms.map((v) => [
        v.name,
        v.state,
        v.image,
        `${v.vcpu} vcpu · ${v.memoryMiB} MiB · ${formatSize(v.diskBytes)}`,
        formatAge(v.createdAt),
        v.error ?? '',
      ]);
      process.stdout.write(
        renderTable(['NAME', 'STATE', 'IMAGE', 'SPEC', 'CREATED', 'ERROR'], rows),
      );
    });
}
