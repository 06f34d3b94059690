import type { Command } from 'commander';
import { examples } from '../output.js';
import { registerDaemonStart } from './start.js';
import { registerDaemonStatus } from './status.js';
import { registerDaemonStop } from './stop.js';

export function registerDaemon(program: Command): void {
  const daemon = program
    .command('daemon')
    .description('Manage bangerd, the background daemon that owns all VM state')
    .addHelpText(
      'after',
      `\nbangerd starts by itself when a command needs it. VMs keep running when it stops.\n` +
        examples(['banger daemon status', 'banger daemon stop']),
    );
  registerDaemonStart(daemon);
  registerDaemonStop(daemon);
  registerDaemonStatus(daemon);
}
