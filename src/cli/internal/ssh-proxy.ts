import type { Command } from 'commander';
import type { Socket } from 'node:net';
import { BangerError, ErrorCode } from '../../errors.js';

/**
 * The ProxyCommand of banger's ssh_config (`ssh NAME.vm`): asks the daemon where the VM's
 * sshd listens and joins stdin/stdout to it. Whatever goes wrong is one line on stderr, which
 * ssh shows as is, and a non-zero exit, which ssh turns into its own 255.
 */
export function registerSshProxy(internal: Command): void {
  internal
    .command('ssh-proxy')
    .description("ssh's ProxyCommand for NAME.vm: stdin/stdout joined to the VM's sshd")
    .argument('<host>', 'NAME.vm, as ssh passes it (%h)')
    .action(async (host: string) => {
      const { VM_HOST_SUFFIX } = await import('../../ssh/known-hosts.js');
      const name = host.endsWith(VM_HOST_SUFFIX) ? host.slice(0, -VM_HOST_SUFFIX.length) : host;
      const { withDaemon } = await import('../with-daemon.js');
      const target = await withDaemon((c) => c.call('vm.ssh', { ref: name })).catch(
        (err: unknown) => {
          if (!(err instanceof BangerError)) throw err;
          const hint = err.hint ? ` (${err.hint})` : '';
          throw new BangerError(err.code, `ssh ${host}: ${err.message}${hint}`);
        },
      );
      const { connect } = await import('node:net');
      await pipe(connect({ host: target.host, port: target.port }), host, target);
    });
}

function pipe(
  socket: Socket,
  what: string,
  { host, port }: { host: string; port: number },
): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once('connect', () => {
      process.stdin.pipe(socket);
      socket.pipe(process.stdout, { end: false });
    });
    socket.once('error', (err) =>
      reject(new BangerError(ErrorCode.Subprocess, `ssh ${what}: ${host}:${port}: ${err.message}`)),
    );
    // sshd closed: flush what it said, and stop reading ssh's side so the process can exit.
    socket.once('close', () =>
      process.stdout.write('', () => {
        process.stdin.destroy();
        resolve();
      }),
    );
  });
}
