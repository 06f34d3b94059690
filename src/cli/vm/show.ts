import type { Command } from 'commander';
import { formatSpec } from '../../config/vm-defaults.js';
import { examples, formatAge, printJson } from '../output.js';

export function registerVmShow(vm: Command): void {
  vm.command('show')
    .description('Show one VM: state, image, spec, ssh port, paths and last error')
    .argument('<name>', 'the VM to show')
    .option('--json', 'print the VM as JSON')
    .addHelpText('after', examples(['banger vm show blue-fox', 'banger vm show blue-fox --json']))
    .action(async (ref: string, opts: { json?: boolean }) => {
      const { withDaemon } = await import('../with-daemon.js');
      const v = await withDaemon((c) => c.call('vm.show', { ref }));
      if (opts.json) return printJson(v);
      const rows: [string, string | undefined][] = [
        ['name', v.name],
        ['id', v.id],
        ['state', v.state],
        ['image', v.image],
        ['spec', formatSpec(v)],
        ['vmm', v.vmm],
        ['pid', v.pid?.toString()],
        ['network', networkLine(v)],
        ['egress', egressLine(v.egress)],
        [
          'ssh',
          v.network === 'tap'
            ? `${v.guestIp ?? '?'}:22, ${v.name}.vm ("banger vm ssh ${v.name}")`
            : v.sshPort
              ? `127.0.0.1:${v.sshPort} ("banger vm ssh ${v.name}")`
              : undefined,
        ],
        [
          'published',
          v.published?.map((p) => `127.0.0.1:${p.host} → ${p.guest}`).join(', ') || undefined,
        ],
        ['console', v.consoleLog],
        ['dir', v.dir],
        ['created', `${v.createdAt} (${formatAge(v.createdAt)})`],
        ['last error', v.error],
      ];
      const width = Math.max(...rows.map(([k]) => k.length));
      for (const [k, value] of rows)
        if (value !== undefined) process.stdout.write(`${k.padEnd(width)}  ${value}\n`);
    });
}

function networkLine(v: { network: string; guestIp?: string | null | undefined }) {
  return v.network === 'tap' ? `tap, address ${v.guestIp ?? '?'}` : v.network;
}

/** What the guest reaches outside, as `vm show` says it. */
function egressLine(egress: string): string {
  if (egress === 'all') return 'all (NAT)';
  if (egress === 'none') return 'none (nothing outside)';
  return `${egress.split(',').join(', ')} (HTTP(S) through banger's proxy)`;
}
