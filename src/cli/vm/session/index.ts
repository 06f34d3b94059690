import type { Command } from 'commander';
import { examples } from '../../output.js';
import { registerVmSessionAttach } from './attach.js';
import { registerVmSessionKill } from './kill.js';
import { registerVmSessionList } from './list.js';
import { registerVmSessionLogs } from './logs.js';
import { registerVmSessionSend } from './send.js';
import { registerVmSessionShow } from './show.js';
import { registerVmSessionStart } from './start.js';
import { registerVmSessionStop } from './stop.js';

export function registerVmSession(vm: Command): void {
  const session = vm
    .command('session')
    .description(
      'Run long-lived processes in a VM (tmux in the guest) and watch, type into or stop them',
    )
    .addHelpText(
      'after',
      `\nSessions outlive the CLI and a daemon restart; they end with their process or the VM.\n` +
        examples([
          'banger vm session start blue-fox dev -- npm run dev',
          'banger vm session logs -f blue-fox dev',
          'banger vm session attach blue-fox dev',
          'banger vm session stop blue-fox dev',
        ]),
    );
  registerVmSessionStart(session);
  registerVmSessionList(session);
  registerVmSessionShow(session);
  registerVmSessionLogs(session);
  registerVmSessionSend(session);
  registerVmSessionAttach(session);
  registerVmSessionStop(session);
  registerVmSessionKill(session);
}
