import type { Command } from 'commander';
import { examples } from '../../output.js';

export function registerVmSessionList(session: Command): void {
  session
    .command('list')
    .alias('ls')
    .description("List a VM's sessions: name, command, running or exited with its code")
    .argument('<vm>', 'the VM whose sessions to list')
    .option('--json', 'print the list as JSON')
    .addHelpText(
      'after',
      examples(['banger vm session ls blue-fox', 'banger vm session list blue-fox --json']),
    )
    .action(async (vm: string, opts: { json?: boolean }) => {
      const { sessionOp, printSessions } = await import('./ops.js');
      printSessions(await sessionOp('vm.session.list', { ref: vm }), opts.json ?? false);
    });
}
