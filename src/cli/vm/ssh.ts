import type { Command } from 'commander';
import { RemoteExitError } from '../../errors.js';
import { examples } from '../output.js';
import { parseGuestCommand } from './dash-dash.js';

const EXAMPLE = 'banger vm ssh blue-fox -- uname -a';

export function registerVmSsh(vm: Command): void {
  vm.command('ssh')
    .description('Open a shell in a running VM, or run a command there and exit with its code')
    .usage('[options] <name> [-- cmd...]')
    .argument('<name>', 'the VM to connect to')
    .argument('[cmd...]', 'the command to run in the guest, after --')
    .addHelpText(
      'after',
      `\nInteractive (with a TTY) when stdin is a terminal.\n` +
        examples([
          'banger vm ssh blue-fox',
          EXAMPLE,
          "banger vm ssh blue-fox -- sh -c 'cd /root/repo && git status'",
        ]),
    )
    .hook('preAction', (_, cmd) => void parseGuestCommand(cmd, EXAMPLE))
    .action(async (...args: unknown[]) => {
      const cmd = args.at(-1) as Command;
      const { operands, command } = parseGuestCommand(cmd, EXAMPLE);
      const { proxyContext, sshSession, sshTargetFor } = await import('./ssh-session.js');
      const target = await sshTargetFor(operands[0]!);
      const context = proxyContext(target.run);
      const code = await sshSession(target, command, context ? { context, loginShell: true } : {});
      if (code !== 0) throw new RemoteExitError(code);
    });
}
