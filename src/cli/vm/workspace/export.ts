import type { Command } from 'commander';
import { examples } from '../../output.js';

export function registerVmWorkspaceExport(workspace: Command): void {
  workspace
    .command('export')
    .description(
      "Print everything in the VM's /root/repo past the prepared base as one patch for git apply",
    )
    .argument('<vm>', 'the VM whose repository to export')
    .option('--out <file>', 'write the patch to FILE instead of stdout')
    .option('--name-only', 'list the changed paths instead of the patch')
    .addHelpText(
      'after',
      `\nNew commits, uncommitted edits and untracked files (minus .gitignore), binary-safe.\n` +
        `Read-only: the guest's index, worktree and refs are left exactly as they were.\n` +
        examples([
          'banger vm workspace export blue-fox | git apply',
          'banger vm workspace export blue-fox --out changes.patch',
          'banger vm workspace export blue-fox --name-only',
        ]),
    )
    .action(async (vm: string, opts: { out?: string; nameOnly?: boolean }) => {
      const { exportWorkspace } = await import('./export-run.js');
      await exportWorkspace(vm, opts);
    });
}
