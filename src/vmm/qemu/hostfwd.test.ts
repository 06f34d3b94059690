import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { vmFiles } from '../../config/layout.js';
import { BangerError, ErrorCode } from '../../errors.js';
import { pidExists } from '../../system/proc.js';
import { freeLoopbackPort } from '../../system/ports.js';
import { realRunner } from '../../system/runner.js';
import type { VmHandles } from '../vmm.js';
import { parseUsernet, qemuHostForwarding } from './hostfwd.js';
import { QEMU_BINARY } from './qemu-vmm.js';

// Runtime forwards on the real QEMU: a paused microvm (-S, no kernel, no guest) with banger's
// user netdev is all hostfwd_add needs; QEMU itself listens on the host side.

let dir = '';
let pid = 0;
after(async () => {
  if (pid && pidExists(pid)) process.kill(pid, 'SIGKILL');
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function pausedUserNetVm(sshPort: number): Promise<VmHandles> {
  dir = await mkdtemp(join(tmpdir(), 'bgr-hostfwd-'));
  const files = vmFiles(dir);
  await realRunner.run(QEMU_BINARY, [
    ...['-name', 'banger-hostfwd0000000000', '-M', 'microvm,x-option-roms=off', '-accel', 'tcg'],
    ...['-nodefaults', '-no-user-config', '-display', 'none', '-S'],
    ...['-netdev', `user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:${sshPort}-:22`],
    ...['-qmp', `unix:${files.qmpSocket},server=on,wait=off`],
    ...['-pidfile', files.pidFile, '-daemonize'],
  ]);
  pid = Number(await readFile(files.pidFile, 'utf8'));
  return {
    ...{ driver: 'qemu', accel: 'tcg', pid, controlSocket: files.qmpSocket },
    ...{ consoleLog: files.consoleLog, sshPort, startedAt: new Date().toISOString() },
  };
}

/** Whether something accepts a TCP connection on 127.0.0.1:port. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ port, host: '127.0.0.1' });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

test('hostfwd: added, listed with the ssh forward, removed; a taken host port is a Conflict', async () => {
  const sshPort = await freeLoopbackPort();
  const handles = await pausedUserNetVm(sshPort);
  const port = await freeLoopbackPort();
  const fw = qemuHostForwarding;
  assert.deepEqual(await fw.list(handles), [{ hostPort: sshPort, guestPort: 22 }]);

  await fw.add(handles, { hostPort: port, guestPort: 3000 });
  assert.equal(await accepts(port), true, 'QEMU listens on the host side');
  assert.deepEqual(
    (await fw.list(handles)).sort((a, b) => a.guestPort - b.guestPort),
    [
      { hostPort: sshPort, guestPort: 22 },
      { hostPort: port, guestPort: 3000 },
    ],
  );
  // The same host port again, and one a host process holds: both are taken.
  const busy = createServer();
  await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
  const busyPort = (busy.address() as { port: number }).port;
  try {
    for (const hostPort of [port, busyPort])
      await assert.rejects(
        fw.add(handles, { hostPort, guestPort: 3001 }),
        (err: unknown) =>
          err instanceof BangerError &&
          err.code === ErrorCode.Conflict &&
          err.message === `port ${hostPort} on 127.0.0.1 is already in use`,
      );
  } finally {
    busy.close();
  }

  assert.equal(await fw.remove(handles, port), true);
  assert.equal(await fw.remove(handles, port), false, 'gone already');
  assert.equal(await accepts(port), false);
  assert.deepEqual(await fw.list(handles), [{ hostPort: sshPort, guestPort: 22 }]);
});

test('info usernet: host forwards only', () => {
  const text =
    'Hub -1 (net0):\r\n  Protocol[State]    FD  Source Address  Port   Dest. Address  Port RecvQ SendQ\r\n' +
    '  TCP[HOST_FORWARD]  15       127.0.0.1 45556       10.0.2.15  3000     0     0\r\n' +
    '  TCP[ESTABLISHED]   31       127.0.0.1 45555       10.0.2.15    22     0     0\r\n' +
    '  TCP[HOST_FORWARD]  11       127.0.0.1 45555       10.0.2.15    22     0     0\r\n';
  assert.deepEqual(parseUsernet(text), [
    { hostPort: 45556, guestPort: 3000 },
    { hostPort: 45555, guestPort: 22 },
  ]);
  assert.deepEqual(parseUsernet(''), []);
});
