import type { Command } from 'commander';
import { UsageError } from '../../../errors.js';
import { examples } from '../../output.js';
import { parseGuestCommand } from '../dash-dash.js';
import { nameValue } from '../../flag-values.js';

const EXAMPLE = 'banger vm session start blue-fox dev -- npm run dev';

export function registerVmSessionStart(session: Command): void {
  session
    .command('start')
    .description('Start a command in a VM as a named session that keeps running in the background')
    .usage('[options] <vm> <name> -- <cmd...>')
    .argument('<vm>', 'the running VM to start it in')
    .argument('<name>', 'a name for the session, unique in the VM', nameValue('session'))
    .argument('[cmd...]', 'the command to run, after --')
    .addHelpText(
      'after',
      `\nIts output is kept: "banger vm session logs" prints it, even after it exits.\n` +
        examples([
          EXAMPLE,
          "banger vm session start blue-fox agent -- sh -c 'cd /root/repo && ./agent'",
        ]),
    )
    .hook('preAction', (_, cmd) => {
      if (parseGuestCommand(cmd, EXAMPLE).command === undefined)
        throw new UsageError('give the command to run after --', { hint: `e.g. ${EXAMPLE}` });
    })
    .action(async (...args: unknown[]) => {
      const cmd = args.at(-1) as Command;
      const { operands, command } = parseGuestCommand(cmd, EXAMPLE);
      const { sessionOp } = await import('./ops.js');
      const [s] = await sessionOp('vm.session.start', {
        ref: operands[0]!,
        name: operands[1]!,
        command: command!,
      });
      process.stdout.write(
        `${s?.name ?? operands[1]} started in ${operands[0]}: "banger vm session logs -f ${operands[0]} ${operands[1]}" follows it\n`,
      );
    });
}
