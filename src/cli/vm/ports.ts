import type { Command } from 'commander';
import { examples, printJson, renderTable } from '../output.js';

export function registerVmPorts(vm: Command): void {
  vm.command('ports')
    .description(
      'List what listens in a running VM (TCP and UDP, with its process) and where the host reaches each',
    )
    .argument('<name>', 'the running VM to look into')
    .option('--json', 'print the ports as JSON')
    .addHelpText(
      'after',
      `\nHOST is where the host reaches the port: for user networking the forwarded 127.0.0.1 port\n` +
        `("banger vm port add" publishes one), for tap NAME.vm:PORT and the guest's address.\n` +
        examples(['banger vm ports blue-fox', 'banger vm ports blue-fox --json']),
    )
    .action(async (ref: string, opts: { json?: boolean }) => {
      const { withDaemon } = await import('../with-daemon.js');
      const r = await withDaemon((c) => c.call('vm.ports', { ref }));
      if (opts.json) return printJson(r);
      const rows = r.ports.map((p) => [
        p.protocol,
        String(p.port),
        p.addresses.join(', ') || '-',
        p.processes.join(', ') || '-',
        [p.reach.join(', '), p.note ? `(${p.note})` : ''].filter(Boolean).join(' '),
      ]);
      process.stdout.write(renderTable(['PROTO', 'PORT', 'ADDRESS', 'PROCESS', 'HOST'], rows));
    });
}
