import type { Command } from 'commander';
import { notYet } from '../../not-yet.js';
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
    .action(notYet('vm session show'));
}
