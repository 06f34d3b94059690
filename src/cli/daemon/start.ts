import type { Command } from 'commander';
import { resolveLayout } from '../../config/layout.js';
import { examples } from '../output.js';

export function registerDaemonStart(daemon: Command): void {
  daemon
    .command('start')
    .description('Start bangerd in the background (no-op when it is already running)')
    .addHelpText('after', examples(['banger daemon start']))
    .action(async () => {
      const layout = resolveLayout();
      const { dial } = await import('../../client/dial.js');
      const running = await dial(layout.socket).then(
        (s) => (s.destroy(), true),
        () => false,
      );
      const { withDaemon } = await import('../with-daemon.js');
      const { pid } = await withDaemon((c) => c.call('daemon.ping', {}), { layout });
      process.stdout.write(
        running
          ? `bangerd is already running (pid ${pid}, socket ${layout.socket})\n`
          : `bangerd started (pid ${pid}, socket ${layout.socket}, log ${layout.daemonLog})\n`,
      );
    });
}
