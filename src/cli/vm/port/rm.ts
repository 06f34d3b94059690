import type { Command } from 'commander';
import { examples } from '../../output.js';
import { portValue } from '../publish-flag.js';

export function registerVmPortRm(port: Command): void {
  port
    .command('rm')
    .alias('remove')
    .description('Stop publishing a VM port: the forward closes now and is not restored')
    .argument('<vm>', 'the VM')
    .argument('<guest>', 'the published port in the guest', portValue('guest port'))
    .addHelpText('after', examples(['banger vm port rm blue-fox 3000']))
    .action(async (ref: string, guest: number) => {
      const { withDaemon } = await import('../../with-daemon.js');
      const r = await withDaemon((c) => c.call('vm.port.rm', { ref, guest }));
      process.stdout.write(`127.0.0.1:${r.host} → ${r.name} port ${r.guest} removed\n`);
    });
}
