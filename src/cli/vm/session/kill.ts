import type { Command } from 'commander';
import { examples } from '../../output.js';

export function registerVmSessionKill(session: Command): void {
  session
    .command('kill')
    .description('Kill a session at once, without the interrupt and grace period of "stop"')
    .argument('<vm>', 'the VM the session runs in')
    .argument('<name>', 'the session')
    .addHelpText('after', examples(['banger vm session kill blue-fox dev']))
    .action(async (vm: string, name: string) => {
      const { sessionOp } = await import('./ops.js');
      const [s] = await sessionOp('vm.session.kill', { ref: vm, name });
      process.stdout.write(
        `${name} killed${s?.exitCode !== undefined ? ` (exit ${s.exitCode})` : ''}\n`,
      );
    });
}
