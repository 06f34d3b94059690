import type { Command } from 'commander';
import { examples } from '../output.js';

export function registerVmLogs(vm: Command): void {
  vm.command('logs')
    .description("Print a VM's serial console: boot messages, and why a guest did not come up")
    .argument('<name>', 'the VM whose console to print')
    .option('-f, --follow', 'keep printing new output until interrupted')
    .addHelpText('after', examples(['banger vm logs blue-fox', 'banger vm logs -f blue-fox']))
    .action(async (ref: string, opts: { follow?: boolean }) => {
      const { withDaemon } = await import('../with-daemon.js');
      const { path } = await withDaemon((c) => c.call('vm.logs', { ref }));
      const { printLog } = await import('./follow.js');
      await printLog(path, opts.follow ?? false);
    });
}
