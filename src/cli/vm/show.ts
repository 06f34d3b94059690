import type { Command } from 'commander';
import { notYet } from '../not-yet.js';
import { examples } from '../output.js';

export function registerVmShow(vm: Command): void {
  vm.command('show')
    .description('Show one VM: state, image, spec, ssh port, paths and last error')
    .argument('<name>', 'the VM to show')
    .option('--json', 'print the VM as JSON')
    .addHelpText('after', examples(['banger vm show blue-fox', 'banger vm show blue-fox --json']))
    .action(notYet('vm show'));
}
