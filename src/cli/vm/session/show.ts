import type { Command } from 'commander';
import { examples } from '../../output.js';

export function registerVmSessionShow(session: Command): void {
  session
    .command('show')
    .description(
      'Show one session: command, state (running or exited), exit code, start and end times',
    )
    .argument('<vm>', 'the VM the session runs in')
    .argument('<name>', 'the session')
    .addHelpText('after', examples(['banger vm session show blue-fox dev']))
    .action(async (vm: string, name: string) => {
      const { sessionOp, printSession } = await import('./ops.js');
      const [s] = await sessionOp('vm.session.show', { ref: vm, name });
      if (s) printSession(s);
    });
}
