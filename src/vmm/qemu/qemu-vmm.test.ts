import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { SubprocessError } from '../../errors.js';
import { pidExists, waitForExit } from '../../system/proc.js';
import { freeLoopbackPort } from '../../system/ports.js';
import { realRunner } from '../../system/runner.js';
import type { LaunchSpec, VmHandles } from '../vmm.js';
import { vmFiles } from '../../config/layout.js';
import { PortInUseError, QEMU_BINARY, QemuVmm } from './qemu-vmm.js';
import { QmpClient } from './qmp.js';

// The real qemu-system-x86_64: a paused microvm (-S, no kernel needed) is enough to exercise
// QMP, liveness and the stop escalation; launch errors come from the driver's own start().

const dirs: string[] = [];
const pids: number[] = [];
after(async () => {
  for (const pid of pids) if (pidExists(pid)) process.kill(pid, 'SIGKILL');
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function vmDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'bgr-qemu-'));
  dirs.push(d);
  return d;
}

/** A paused microvm named like banger's VMs, daemonized the same way. */
async function pausedVm(id: string): Promise<VmHandles> {
  const dir = await vmDir();
  const files = vmFiles(dir);
  await realRunner.run(QEMU_BINARY, [
    ...['-name', `banger-${id}`, '-M', 'microvm,x-option-roms=off', '-accel', 'tcg'],
    ...['-nodefaults', '-no-user-config', '-display', 'none', '-S'],
    ...['-qmp', `unix:${files.qmpSocket},server=on,wait=off`],
    ...['-pidfile', files.pidFile, '-daemonize'],
  ]);
  const pid = Number(await readFile(files.pidFile, 'utf8'));
  pids.push(pid);
  return {
    driver: 'qemu',
    accel: 'tcg',
    pid,
    controlSocket: files.qmpSocket,
    consoleLog: files.consoleLog,
    sshPort: 1,
    startedAt: new Date().toISOString(),
  };
}

test('QMP: capabilities negotiated, commands answered, errors carry QEMU class and text', async () => {
  const handles = await pausedVm('qmp0000000000000');
  const qmp = await QmpClient.connect(handles.controlSocket);
  try {
    const status = (await qmp.execute('query-status')) as { status: string; running: boolean };
    assert.equal(status.running, false);
    await assert.rejects(qmp.execute('no-such-command'), /QMP no-such-command: CommandNotFound/);
    // Still usable after an error.
    assert.ok(await qmp.execute('query-version'));
  } finally {
    qmp.close();
  }
});

test('alive() checks the pid AND that it is our qemu for this VM', async () => {
  const vmm = new QemuVmm('tcg', realRunner);
  const handles = await pausedVm('alive00000000000');
  assert.equal(await vmm.alive(handles, 'alive00000000000'), true);
  assert.equal(await vmm.alive(handles, 'someothervm00000'), false, 'another VM id');
  assert.equal(
    await vmm.alive({ ...handles, pid: process.pid }, 'alive00000000000'),
    false,
    'a reused pid',
  );
  await vmm.kill(handles);
  assert.equal(await vmm.alive(handles, 'alive00000000000'), false);
});

test('stop() escalates: a guest that ignores the power button is quit through QMP', async () => {
  const vmm = new QemuVmm('tcg', realRunner);
  const handles = await pausedVm('stop000000000000');
  // A paused guest cannot react to ACPI: only the QMP quit ends it.
  await vmm.stop(handles, 300);
  // Gone, or a zombie its new parent has not reaped yet (daemonized: not our child).
  assert.equal(await waitForExit(handles.pid, 0), true);
  await vmm.stop(handles, 300); // stopping a stopped VM is a no-op
});

test('start(): a taken forwarded port is retried on another; after that, failures name qemu', async () => {
  const vmm = new QemuVmm('tcg', realRunner);
  const dir = await vmDir();
  const busy: Server = createServer();
  await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
  const port = (busy.address() as { port: number }).port;
  // Real disks: QEMU opens drives before it sets up the network, the kernel after.
  await realRunner.run('qemu-img', [
    'create',
    '-q',
    '-f',
    'qcow2',
    join(dir, 'system.qcow2'),
    '16M',
  ]);
  await realRunner.run('truncate', ['-s', '16M', join(dir, 'work.ext4')]);
  const spec: LaunchSpec = {
    id: 'start00000000000',
    name: 'start',
    dir,
    kernel: join(dir, 'no-kernel'),
    cmdline: ['root=/dev/vda'],
    systemDisk: { path: join(dir, 'system.qcow2'), format: 'qcow2' },
    workDisk: join(dir, 'work.ext4'),
    vcpu: 1,
    memoryMiB: 256,
    network: { mode: 'user', sshPort: port, nat: false },
  };
  const asked: number[] = [];
  try {
    // Always the busy port: the driver gives up after its attempts, saying which port.
    const stubborn = () => (asked.push(port), Promise.resolve(port));
    await assert.rejects(
      vmm.start(spec, { signal: AbortSignal.timeout(60_000), freePort: stubborn }),
      PortInUseError,
    );
    assert.equal(asked.length, 5, 'retried five times after the first try');
    // A free port on the retry: QEMU gets past the network and stops at the missing kernel.
    const free = () => freeLoopbackPort();
    await assert.rejects(
      vmm.start(spec, { signal: AbortSignal.timeout(30_000), freePort: free }),
      (err: unknown) =>
        err instanceof SubprocessError && /could not open kernel file/.test(err.message),
    );
  } finally {
    busy.close();
  }
  // Nothing was left running by the failed launches (a zombie has no command line).
  const left = await realRunner.run('pgrep', ['-f', 'banger-start00000000000'], {
    allowFailure: true,
  });
  assert.equal(left.stdout.trim(), '');
});
