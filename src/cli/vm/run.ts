import { resolve } from 'node:path';
import type { Command } from 'commander';
import { BangerError, ErrorCode, RemoteExitError, UsageError } from '../../errors.js';
import { positiveNumberValue } from '../flag-values.js';
import { examples } from '../output.js';
import { parseGuestCommand } from './dash-dash.js';
import { addCreateFlags, type CreateFlags } from './spec-flags.js';
import { addBranchFlags, checkBranchFlags, type BranchFlags } from './workspace/branch-flags.js';

const EXAMPLE = 'banger vm run ./repo -- make test';
/** `--rm` cleanup gets its own deadline: Ctrl-C during the session must not cut it short. */
const RM_DEADLINE_MS = 60_000;

export function registerVmRun(vm: Command): void {
  const run = vm
    .command('run')
    .description('Boot a VM and open a shell in it, or run a command there and exit with its code')
    .usage('[options] [path] [-- cmd...]')
    .argument('[path]', 'a directory in a git repository, copied into the guest at /root/repo')
    .argument('[cmd...]', 'the command to run in the guest, after --');
  addCreateFlags(run);
  run.option('--rm', 'delete the VM when the shell or command ends, whatever its exit code');
  run.option(
    '--fork <n>',
    'fork the VM N times once the workspace is in, run the command in every child at once, and report each one’s exit code and changed files',
    positiveNumberValue('--fork', '3'),
  );
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
          'banger vm run . --fork 3 -- ./try-a-fix.sh   # three tries from the same state',
        ]),
    )
    // Usage errors come before anything is booted.
    .hook('preAction', (_, cmd) => {
      const { operands } = parseGuestCommand(cmd, EXAMPLE);
      checkBranchFlags(cmd.opts<BranchFlags>(), operands[0] !== undefined);
      const { fork } = cmd.opts<RunFlags>();
      if (fork !== undefined && (!Number.isInteger(fork) || fork > 16))
        throw new UsageError('--fork: a whole number of children from 1 to 16', {
          hint: 'e.g. banger vm run . --fork 3 -- make test',
        });
      if (fork !== undefined && command(cmd) === undefined)
        throw new UsageError('--fork needs a command to run in each child', {
          hint: 'e.g. banger vm run . --fork 3 -- make test',
        });
    })
    .action(async (...args: unknown[]) => {
      const cmd = args.at(-1) as Command;
      const { operands, command } = parseGuestCommand(cmd, EXAMPLE);
      const flags = cmd.opts<RunFlags>();
      const code = await runVm(flags, operands[0], command);
      if (code !== 0) throw new RemoteExitError(code);
    });
}

type RunFlags = CreateFlags & BranchFlags & { rm?: boolean; fork?: number };

function command(cmd: Command): string[] | undefined {
  return parseGuestCommand(cmd, EXAMPLE).command;
}

async function runVm(
  flags: RunFlags,
  path: string | undefined,
  command: string[] | undefined,
): Promise<number> {
  const { createVm } = await import('./create-vm.js');
  const { sshSession, sshTargetFor, stillRunningReminder } = await import('./ssh-session.js');
  // A create that fails leaves no VM to delete; one whose ssh never came up is kept on
  // purpose (its console says why), so any error here skips --rm. The daemon checks PATH
  // before it boots anything.
  const vm = await createVm(flags, 'vm run', path !== undefined ? resolve(path) : undefined);
  let code: number;
  try {
    if (path !== undefined) {
      const { prepareWorkspace } = await import('./workspace/prepare-run.js');
      await prepareWorkspace(vm.name, path, flags, 'vm run');
    }
    if (flags.fork !== undefined && command !== undefined) {
      const { runForked } = await import('./run-fork.js');
      const outcomes = await runForked(
        vm.name,
        flags.fork,
        command,
        path !== undefined ? '/root/repo' : undefined,
      );
      if (flags.rm) for (const o of outcomes) await removeVm(o.name);
      else
        process.stderr.write(
          `children kept: ${outcomes.map((o) => o.name).join(', ')} ("banger vm workspace export CHILD" hands back each patch); ${vm.name} runs on\n`,
        );
      return outcomes.find((o) => o.exitCode !== 0)?.exitCode ?? 0;
    }
    const target = await sshTargetFor(vm.name);
    code = await sshSession(target, command, {
      ...(path !== undefined ? { cwd: '/root/repo' } : {}),
      ...(target.run ? { context: target.run } : {}),
    });
  } finally {
    if (flags.rm) await removeVm(vm.name);
  }
  if (!flags.rm) process.stderr.write(stillRunningReminder(vm.name));
  return code;
}

async function removeVm(name: string): Promise<void> {
  const { withDaemon } = await import('../with-daemon.js');
  // Ctrl-C now must not abandon the delete half-way.
  const ignore = () => undefined;
  process.on('SIGINT', ignore);
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      withDaemon((c) => c.call('vm.delete', { ref: name })),
      new Promise((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new BangerError(ErrorCode.Internal, `deleting vm ${name} took longer than 60s`, {
                hint: `run "banger vm rm ${name}"`,
              }),
            ),
          RM_DEADLINE_MS,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
    process.off('SIGINT', ignore);
  }
}
