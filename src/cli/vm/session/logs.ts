import type { Command } from 'commander';
import { notYet } from '../../not-yet.js';
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
    .action(notYet('vm session logs'));
}
