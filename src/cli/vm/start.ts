import type { Command } from 'commander';
import { examples } from '../output.js';
import { addSshWaitFlag } from './spec-flags.js';
import { bootEach } from './boot-each.js';

export function registerVmStart(vm: Command): void {
  const start = vm
    .command('start')
    .description(
      'Boot stopped VMs (a suspended one resumes where it was) and wait until each answers on ssh',
    )
    .argument('<names...>', 'VMs to start')
    .option('--cold', 'boot a suspended VM from its disks, discarding its saved state')
    .addHelpText(
      'after',
      examples(['banger vm start blue-fox', 'banger vm start blue-fox red-owl']),
    );
  addSshWaitFlag(start).action(
    (names: string[], flags: { sshWaitSeconds?: number; cold?: boolean }) =>
      bootEach('start', names, flags),
  );
}
