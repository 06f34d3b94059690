import type { Command } from 'commander';
import { notYet } from '../../not-yet.js';
import { examples } from '../../output.js';

export function registerVmSessionKill(session: Command): void {
  session
    .command('kill')
    .description('Kill a session at once, without the interrupt and grace period of "stop"')
    .argument('<vm>', 'the VM the session runs in')
    .argument('<name>', 'the session')
    .addHelpText('after', examples(['banger vm session kill blue-fox dev']))
    .action(notYet('vm session kill'));
}
