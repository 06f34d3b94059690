import type { Command } from 'commander';
import { notYet } from '../not-yet.js';
import { examples } from '../output.js';

export function registerVmLogs(vm: Command): void {
  vm.command('logs')
    .description("Print a VM's serial console: boot messages, and why a guest did not come up")
    .argument('<name>', 'the VM whose console to print')
    .option('-f, --follow', 'keep printing new output until interrupted')
    .addHelpText('after', examples(['banger vm logs blue-fox', 'banger vm logs -f blue-fox']))
    .action(notYet('vm logs'));
}
