import type { Command } from 'commander';
import { examples } from './output.js';

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description('Check this host can run banger VMs: one line per check, with the fix')
    .option(
      '--fix',
      'install the missing Debian packages with apt-get (as root), printing what runs',
    )
    .addHelpText(
      'after',
      `\nExits 1 when a required check fails; warnings do not change the exit code.\n` +
        examples(['banger doctor', 'sudo banger doctor --fix']),
    )
    .action(async (opts: { fix?: boolean }) => {
      const { doctorCommand } = await import('./doctor-run.js');
      process.exitCode = await doctorCommand(Boolean(opts.fix));
    });
}
