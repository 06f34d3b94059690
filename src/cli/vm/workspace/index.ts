import type { Command } from 'commander';
import { examples } from '../../output.js';
import { registerVmWorkspaceExport } from './export.js';
import { registerVmWorkspacePrepare } from './prepare.js';

export function registerVmWorkspace(vm: Command): void {
  const workspace = vm
    .command('workspace')
    .description(
      'Copy a git repository into a VM at /root/repo, and get the changes back as a patch',
    )
    .addHelpText(
      'after',
      `\n"banger vm run PATH" prepares the workspace itself; these commands work on an existing VM.\n` +
        examples([
          'banger vm workspace prepare blue-fox ./repo',
          'banger vm workspace export blue-fox --out changes.patch && git apply changes.patch',
        ]),
    );
  registerVmWorkspacePrepare(workspace);
  registerVmWorkspaceExport(workspace);
}
