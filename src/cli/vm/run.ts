import type { Command } from 'commander';
import { notYet } from '../not-yet.js';
import { examples } from '../output.js';
import { parseGuestCommand } from './dash-dash.js';
import { addCreateFlags } from './spec-flags.js';
import { addBranchFlags, checkBranchFlags, type BranchFlags } from './workspace/branch-flags.js';

const EXAMPLE = 'banger vm run ./repo -- make test';

export function registerVmRun(vm: Command): void {
  const run = vm
    .command('run')
    .description('Boot a VM and open a shell in it, or run a command there and exit with its code')
    .usage('[options] [path] [-- cmd...]')
    .argument('[path]', 'a directory in a git repository, copied into the guest at /root/repo')
    .argument('[cmd...]', 'the command to run in the guest, after --');
  addCreateFlags(run);
  run.option('--rm', 'delete the VM when the shell or command ends, whatever its exit code');
  addBranchFlags(run);
  run
    .addHelpText(
      'after',
      `\nWithout a command: an interactive shell (in /root/repo when PATH is given).\n` +
        `With --rm the VM is kept anyway if ssh never comes up, so "banger vm logs" can say why.\n` +
        examples([
          'banger vm run                               # a shell in a fresh VM',
          'banger vm run --rm -- uname -a              # run, exit with its code, delete the VM',
          EXAMPLE,
          'banger vm run . --branch fix --from HEAD~3  # a new branch in the guest repo',
          'banger vm run --memory 4G --vcpu 4 --nat',
        ]),
    )
    // Usage errors come before anything is booted.
    .hook('preAction', (_, cmd) => {
      const { operands } = parseGuestCommand(cmd, EXAMPLE);
      checkBranchFlags(cmd.opts<BranchFlags>(), operands[0] !== undefined);
    })
    .action(notYet('vm run'));
}
