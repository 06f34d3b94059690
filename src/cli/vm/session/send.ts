import type { Command } from 'commander';
import { examples } from '../../output.js';

export function registerVmSessionSend(session: Command): void {
  session
    .command('send')
    .description("Type text into a session's terminal, as if at its keyboard")
    .argument('<vm>', 'the VM the session runs in')
    .argument('<name>', 'the session')
    .argument('<text>', 'the text to type (quote it to keep spaces)')
    .option('--enter', 'press Enter after the text')
    .addHelpText(
      'after',
      examples([
        "banger vm session send blue-fox dev 'rs' --enter",
        'banger vm session send blue-fox repl q',
      ]),
    )
    .action(async (vm: string, name: string, text: string, opts: { enter?: boolean }) => {
      const { sessionOp } = await import('./ops.js');
      await sessionOp('vm.session.send', { ref: vm, name, text, enter: opts.enter ?? false });
    });
}
