import type { Command } from 'commander';
import { examples } from '../../output.js';
import { portValue } from '../publish-flag.js';

export function registerVmPortAdd(port: Command): void {
  port
    .command('add')
    .description("Publish a VM's TCP port on 127.0.0.1 (now if it runs, and at every start)")
    .argument('<vm>', 'the VM')
    .argument('<guest>', 'the port in the guest', portValue('guest port'))
    .option(
      '--host <port>',
      'the port on 127.0.0.1 (default: the guest port; 0: any free one)',
      portValue('--host', true),
    )
    .addHelpText(
      'after',
      examples(['banger vm port add blue-fox 3000', 'banger vm port add blue-fox 3000 --host 0']),
    )
    .action(async (ref: string, guest: number, opts: { host?: number }) => {
      const { withDaemon } = await import('../../with-daemon.js');
      const r = await withDaemon((c) =>
        c.call('vm.port.add', {
          ref,
          guest,
          ...(opts.host !== undefined ? { host: opts.host } : {}),
        }),
      );
      process.stdout.write(
        `127.0.0.1:${r.host} → ${r.name} port ${r.guest}${r.open ? '' : ` (opened when ${r.name} starts)`}\n`,
      );
    });
}
