import type { Command } from 'commander';
import { examples } from '../../output.js';
import { addBranchFlags, checkBranchFlags, type BranchFlags } from './branch-flags.js';

export function registerVmWorkspacePrepare(workspace: Command): void {
  const prepare = workspace
    .command('prepare')
    .description(
      'Copy a repository into a running VM at /root/repo: its history, HEAD, uncommitted edits and untracked files',
    )
    .argument('<vm>', 'the VM to copy into')
    .argument('<path>', 'a directory in a git repository on the host');
  addBranchFlags(prepare)
    .addHelpText(
      'after',
      `\nIgnored files stay behind. The base commit is recorded for "banger vm workspace export".\n` +
        examples([
          'banger vm workspace prepare blue-fox .',
          'banger vm workspace prepare blue-fox ./repo --branch fix-tests --from origin/main',
        ]),
    )
    .hook('preAction', (_, cmd) => checkBranchFlags(cmd.opts<BranchFlags>(), true))
    .action(async (vm: string, path: string, flags: BranchFlags) => {
      const { prepareWorkspace } = await import('./prepare-run.js');
      await prepareWorkspace(vm, path, flags, 'vm workspace prepare');
    });
}
