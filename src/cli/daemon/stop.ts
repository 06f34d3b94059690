import type { Command } from 'commander';
import { resolveLayout } from '../../config/layout.js';
import { BangerError, ErrorCode } from '../../errors.js';
import { examples } from '../output.js';

const STOP_TIMEOUT_MS = 30_000;

export function registerDaemonStop(daemon: Command): void {
  daemon
    .command('stop')
    .description('Stop bangerd gracefully; running VMs are left running')
    .addHelpText('after', examples(['banger daemon stop']))
    .action(async () => {
      const layout = resolveLayout();
      const { DaemonClient } = await import('../../client/client.js');
      const { isAbsent } = await import('../../client/dial.js');
      let client;
      try {
        client = await DaemonClient.connect(layout, { autostart: false });
      } catch (err) {
        if (err instanceof BangerError && isAbsent(err.cause)) {
          process.stdout.write('bangerd is not running\n');
          return;
        }
        throw err;
      }
      const { pid } = await client.call('daemon.shutdown', {}).finally(() => client.close());
      const deadline = Date.now() + STOP_TIMEOUT_MS;
      while (alive(pid)) {
        if (Date.now() > deadline)
          throw new BangerError(
            ErrorCode.Internal,
            `bangerd (pid ${pid}) did not exit within ${STOP_TIMEOUT_MS / 1000} s`,
            {
              hint: `see ${layout.daemonLog}; "kill ${pid}" forces it`,
            },
          );
        await new Promise((r) => setTimeout(r, 25));
      }
      process.stdout.write(`bangerd stopped (pid ${pid})\n`);
    });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
