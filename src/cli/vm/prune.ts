import type { Command } from 'commander';
import { notYet } from '../not-yet.js';
import { examples } from '../output.js';

export function registerVmPrune(vm: Command): void {
  vm.command('prune')
    .description('Delete every VM that is not running (stopped, created or failed), after asking')
    .option('-f, --force', 'do not ask for confirmation')
    .addHelpText(
      'after',
      `\nExits non-zero and names each VM that could not be deleted.\n` +
        examples(['banger vm prune', 'banger vm prune --force']),
    )
    .action(notYet('vm prune'));
}
