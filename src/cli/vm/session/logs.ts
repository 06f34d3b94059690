import type { Command } from 'commander';
import { examples } from '../../output.js';

export function registerVmSessionLogs(session: Command): void {
  session
    .command('logs')
    .description("Print a session's output so far")
    .argument('<vm>', 'the VM the session runs in')
    .argument('<name>', 'the session')
    .option('-f, --follow', 'keep printing new output until the session exits')
    .addHelpText(
      'after',
      examples(['banger vm session logs blue-fox dev', 'banger vm session logs -f blue-fox dev']),
    )
    .action(async (vm: string, name: string, opts: { follow?: boolean }) => {
      const { sessionOverSsh } = await import('./ops.js');
      const code = await sessionOverSsh(
        vm,
        ['logs', name, ...(opts.follow ? ['follow'] : [])],
        false,
      );
      if (code !== 0) {
        const { sessionError } = await import('../../../session/script.js');
        throw sessionError(vm, name, code, '');
      }
    });
}
