import type { Command } from 'commander';
import { formatSize } from '../../config/size.js';
import { examples, formatDuration, printJson } from '../output.js';

export function registerVmStats(vm: Command): void {
  vm.command('stats')
    .description(
      "Show a VM's resource use: host CPU, RSS and disk; guest uptime and memory when running",
    )
    .argument('<name>', 'the VM to measure')
    .option('--json', 'print the figures as JSON')
    .addHelpText('after', examples(['banger vm stats blue-fox', 'banger vm stats blue-fox --json']))
    .action(async (ref: string, opts: { json?: boolean }) => {
      const { withDaemon } = await import('../with-daemon.js');
      const s = await withDaemon((c) => c.call('vm.stats', { ref }));
      if (opts.json) return printJson(s);
      const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
      const lines = [`${s.name}: ${s.running ? `running (pid ${s.pid})` : 'not running'}`];
      if (s.host)
        lines.push(
          `host cpu     ${s.host.cpuPercent}% now, ${s.host.cpuSeconds.toFixed(1)} s in total`,
          `host rss     ${mib(s.host.rssBytes)} (guest RAM ${mib(s.host.guestResidentBytes)}, VMM ${mib(s.host.rssBytes - s.host.guestResidentBytes)})`,
        );
      lines.push(
        `disk         system overlay ${mib(s.disk.systemBytes)}, work disk ${mib(s.disk.workBytes)} of ${formatSize(s.disk.workSizeBytes)}`,
      );
      if (s.guest)
        lines.push(
          `guest up     ${formatDuration(s.guest.uptimeSeconds)}`,
          `guest memory ${mib(s.guest.memoryUsedBytes)} used of ${mib(s.guest.memoryTotalBytes)}`,
        );
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
