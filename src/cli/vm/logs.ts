import type { Command } from 'commander';
import { examples } from '../output.js';

export function registerVmLogs(vm: Command): void {
  vm.command('logs')
    .description(
      "Print a VM's serial console (boot messages, why a guest did not come up), or with --egress what its egress proxy allowed and denied",
    )
    .argument('<name>', 'the VM whose log to print')
    .option('-f, --follow', 'keep printing new output until interrupted')
    .option('--egress', 'the egress log: one line per connection, allowed or denied, and why')
    .addHelpText(
      'after',
      examples([
        'banger vm logs blue-fox',
        'banger vm logs -f blue-fox',
        'banger vm logs --egress blue-fox',
      ]),
    )
    .action(async (ref: string, opts: { follow?: boolean; egress?: boolean }) => {
      const { withDaemon } = await import('../with-daemon.js');
      const { path } = await withDaemon((c) =>
        c.call('vm.logs', { ref, ...(opts.egress ? { egress: true } : {}) }),
      );
      const { printLog } = await import('./follow.js');
      await printLog(path, opts.follow ?? false);
    });
}
