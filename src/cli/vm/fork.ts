import type { Command } from 'commander';
import { nameValue, positiveNumberValue } from '../flag-values.js';
import { examples } from '../output.js';

/** `vm fork NAME [--name CHILD | --count N]`: copies of a running VM, each a new VM. */
export function registerVmFork(vm: Command): void {
  vm.command('fork')
    .description(
      'Copy a running VM — memory, processes and disks — into new VMs, each with its own name, keys and identity',
    )
    .argument('<name>', 'the running VM to copy')
    .option('--name <child>', 'the child’s name (one child)', nameValue('VM', '--name'))
    .option(
      '--count <n>',
      'how many children, named <name>-1, <name>-2…',
      positiveNumberValue('--count', '3'),
    )
    .addHelpText(
      'after',
      `\nThe parent is paused only while it is copied, then runs on unchanged. Children are\n` +
        `ordinary VMs: stop, delete, sessions, workspace export.\n` +
        examples([
          'banger vm fork blue-fox',
          'banger vm fork blue-fox --count 3',
          'banger vm fork blue-fox --name try-b',
        ]),
    )
    .action(async (name: string, opts: { name?: string; count?: number }) => {
      if (opts.name !== undefined && opts.count !== undefined) {
        const { BangerError, ErrorCode } = await import('../../errors.js');
        throw new BangerError(ErrorCode.Usage, 'give --name or --count, not both');
      }
      const { callWithProgress } = await import('../with-daemon.js');
      const r = await callWithProgress('vm.fork', {
        ref: name,
        ...(opts.name !== undefined ? { names: [opts.name] } : {}),
        ...(opts.count !== undefined ? { count: opts.count } : {}),
      });
      process.stderr.write(`${name} paused ${r.pausedMs} ms for the copy\n`);
      for (const child of r.children) process.stdout.write(`${child.name}\n`);
    });
}
