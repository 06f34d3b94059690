import type { Command } from 'commander';
import { examples } from '../output.js';
import { addSshWaitFlag } from './spec-flags.js';
import { bootEach } from './boot-each.js';

export function registerVmRestart(vm: Command): void {
  const restart = vm
    .command('restart')
    .description('Stop VMs gracefully and boot them again; the work disk in /root is kept')
    .argument('<names...>', 'VMs to restart')
    .addHelpText('after', examples(['banger vm restart blue-fox']));
  addSshWaitFlag(restart).action((names: string[], flags: { sshWaitSeconds?: number }) =>
    bootEach('restart', names, flags),
  );
}
