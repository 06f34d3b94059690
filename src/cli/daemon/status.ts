import type { Command } from 'commander';
import { resolveLayout } from '../../config/layout.js';
import { BangerError } from '../../errors.js';
import { examples, formatDuration, printJson } from '../output.js';

/** LSB's "program is not running" status code. */
const EXIT_NOT_RUNNING = 3;

export function registerDaemonStatus(daemon: Command): void {
  daemon
    .command('status')
    .description('Show whether bangerd runs: pid, uptime, socket, version, VMM and acceleration')
    .option('--json', 'print the status as JSON')
    .addHelpText(
      'after',
      `\nExits 3 when bangerd is not running; never starts it.\n` +
        examples(['banger daemon status']),
    )
    .action(async (opts: { json?: boolean }) => {
      const layout = resolveLayout();
      const { DaemonClient } = await import('../../client/client.js');
      const { isAbsent } = await import('../../client/dial.js');
      let client;
      try {
        client = await DaemonClient.connect(layout, { autostart: false });
      } catch (err) {
        if (err instanceof BangerError && isAbsent(err.cause)) {
          if (opts.json) printJson({ running: false, socket: layout.socket });
          else process.stdout.write(`bangerd: not running (socket ${layout.socket})\n`);
          process.exitCode = EXIT_NOT_RUNNING;
          return;
        }
        throw err;
      }
      const s = await client.call('daemon.status', {}).finally(() => client.close());
      if (opts.json) return printJson({ running: true, ...s });
      process.stdout.write(
        [
          `bangerd: running`,
          `pid:      ${s.pid}`,
          `uptime:   ${formatDuration(s.uptimeSeconds)}`,
          `version:  ${s.version}`,
          `socket:   ${s.socket}`,
          `state:    ${s.stateDir}`,
          `config:   ${s.configFile}`,
          `vmm:      ${s.vmm.driver}/${s.vmm.accel} (${s.vmm.reason})`,
          `kvm:      ${s.vmm.kvm}`,
          `log:      ${layout.daemonLog}`,
        ].join('\n') + '\n',
      );
    });
}
