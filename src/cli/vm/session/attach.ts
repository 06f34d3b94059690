import type { Command } from 'commander';
import { examples } from '../../output.js';

export function registerVmSessionAttach(session: Command): void {
  session
    .command('attach')
    .description('Attach your terminal to a session; detaching leaves it running')
    .argument('<vm>', 'the VM the session runs in')
    .argument('<name>', 'the session')
    .addHelpText(
      'after',
      `\nThe detach key is printed when you attach.\n` +
        examples(['banger vm session attach blue-fox dev']),
    )
    .action(async (vm: string, name: string) => {
      process.stderr.write(
        `attaching to ${name} in ${vm}: detach with Ctrl-b d (the session keeps running)\n`,
      );
      const { sessionOverSsh } = await import('./ops.js');
      const code = await sessionOverSsh(vm, ['attach', name], true);
      if (code !== 0) {
        const { sessionError } = await import('../../../session/script.js');
        throw sessionError(vm, name, code, '');
      }
    });
}
