import type { Command } from 'commander';
import { examples } from '../../output.js';

export function registerVmSessionStop(session: Command): void {
  session
    .command('stop')
    .description('Stop a session: interrupt it (Ctrl-C), then terminate it after a grace period')
    .argument('<vm>', 'the VM the session runs in')
    .argument('<name>', 'the session')
    .addHelpText('after', examples(['banger vm session stop blue-fox dev']))
    .action(async (vm: string, name: string) => {
      const { sessionOp } = await import('./ops.js');
      const [s] = await sessionOp('vm.session.stop', { ref: vm, name });
      process.stdout.write(
        `${name} stopped${s?.exitCode !== undefined ? ` (exit ${s.exitCode})` : ''}\n`,
      );
    });
}
