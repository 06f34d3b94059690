import type { Command } from 'commander';
import { posix, resolve } from 'node:path';
import { RemoteExitError, UsageError } from '../../errors.js';
import { examples } from '../output.js';

const HINT = 'e.g. banger vm cp ./src box:/root/ or banger vm cp box:/root/out.log .';

/** `VM:PATH` (a VM name, a colon, a guest path; relative to /root), else a host path. */
export function parseCopySide(arg: string): { vm: string; path: string } | undefined {
  const m = /^([a-z0-9][a-z0-9-]{0,62}):(.*)$/.exec(arg);
  if (!m) return undefined;
  const path = m[2] === '' ? '/root' : posix.resolve('/root', m[2]!);
  return { vm: m[1]!, path };
}

export function registerVmCp(vm: Command): void {
  vm.command('cp')
    .description('Copy files and directories between the host and a running VM')
    .argument('<src>', 'a host path, VM:PATH, or - (a tar stream on stdin)')
    .argument('<dst>', 'a host path, VM:PATH, or - (a tar stream on stdout)')
    .addHelpText(
      'after',
      `\nOne side is VM:PATH (relative paths are under /root). As with cp -r: a destination\n` +
        `that is a directory receives the source inside it, anything else becomes the copy.\n` +
        `Modes and symlinks are kept; files land as root in the guest and as you on the host.\n` +
        `The copy streams over the VM's data port (ssh without one) and is moved into place\n` +
        `only when whole. With -, a tar archive goes in from stdin (unpacked in VM:DIR) or\n` +
        `comes out on stdout. A host path with a colon: write it as ./name:x.\n` +
        examples([
          'banger vm cp ./src box:/root/',
          'banger vm cp box:/root/repo/dist ./dist',
          'tar -c data | banger vm cp - box:/srv',
          'banger vm cp box:/var/log - | tar -t',
        ]),
    )
    .action(async (src: string, dst: string) => {
      const from = parseCopySide(src);
      const to = parseCopySide(dst);
      if (from && to)
        throw new UsageError('both sides are VM paths: copy between a VM and the host', {
          hint: HINT,
        });
      if (!from && !to)
        throw new UsageError(`neither ${src} nor ${dst} is VM:PATH`, { hint: HINT });
      if (src === '-' || dst === '-') {
        const code = await tarStream(from ?? to!, src === '-' ? 'in' : 'out');
        if (code !== 0) throw new RemoteExitError(code);
        return;
      }
      const { callWithProgress } = await import('../with-daemon.js');
      const guest = (from ?? to)!;
      const host = resolve(from ? dst : src);
      const r = await callWithProgress('vm.cp', {
        ref: guest.vm,
        direction: from ? 'out' : 'in',
        host,
        guest: guest.path,
      });
      process.stderr.write(
        `${from ? `${r.name}:${guest.path} → ${host}` : `${host} → ${r.name}:${guest.path}`} (over ${r.via === 'ssh' ? 'ssh' : 'the data port'})\n`,
      );
    });
}

/** `-`: the tar stream is this process's stdin or stdout, over the VM's ssh connection. */
async function tarStream(side: { vm: string; path: string }, way: 'in' | 'out'): Promise<number> {
  const { sshSession, sshTargetFor } = await import('./ssh-session.js');
  const command =
    way === 'in'
      ? ['tar', '-x', '--no-same-owner', '-C', side.path, '-f', '-']
      : ['tar', '-c', '-f', '-', '-C', posix.dirname(side.path), '--', posix.basename(side.path)];
  return sshSession(await sshTargetFor(side.vm), command, { tty: false });
}
