import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { examples } from '../output.js';

export function registerVmPrune(vm: Command): void {
  vm.command('prune')
    .description(
      'Delete every VM that is not running (stopped, created or failed), and those a crashed `banger mcp` left, after asking',
    )
    .option('-f, --force', 'do not ask for confirmation')
    .addHelpText(
      'after',
      `\nExits non-zero and names each VM that could not be deleted.\n` +
        examples(['banger vm prune', 'banger vm prune --force']),
    )
    .action(async (opts: { force?: boolean }) => {
      const { withDaemon } = await import('../with-daemon.js');
      const { vms } = await withDaemon((c) => c.call('vm.list', {}));
      const { ownerGone } = await import('./owner.js');
      const doomed = vms
        .filter((v) => v.state !== 'running' || (v.owner && ownerGone(v.owner)))
        .map((v) => v.name);
      if (doomed.length === 0) {
        process.stdout.write('nothing to prune: every VM is running\n');
        return;
      }
      if (!opts.force) {
        if (!process.stdin.isTTY)
          throw new UsageError('vm prune asks for confirmation, but stdin is not a terminal', {
            hint: 'run "banger vm prune --force" to delete without asking',
          });
        const { createInterface } = await import('node:readline/promises');
        const rl = createInterface({ input: process.stdin, output: process.stderr });
        const answer = await rl.question(
          `delete ${doomed.length} VM${doomed.length === 1 ? '' : 's'} (${doomed.join(', ')}) and their disks? [y/N] `,
        );
        rl.close();
        if (!/^y(es)?$/i.test(answer.trim())) {
          process.stderr.write('nothing deleted\n');
          return;
        }
      }
      const { forEachVm } = await import('./each.js');
      await forEachVm('delete', doomed, async (c, ref) => {
        const r = await c.call('vm.delete', { ref });
        return `${r.name} deleted`;
      });
    });
}
