import type { Command } from 'commander';
import { notYet } from '../../not-yet.js';
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
    .action(notYet('vm session attach'));
}
