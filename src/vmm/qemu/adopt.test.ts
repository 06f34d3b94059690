import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { LaunchSpec } from '../vmm.js';
import { findRunningQemu, handlesFromArgs } from './adopt.js';
import { qemuArgs } from './args.js';

// A QEMU found from its command line alone: the args are the ones banger launches with.

const id = '0123456789abcdef';
const dir = `/state/vms/${id}`;
const spec: LaunchSpec = {
  id,
  name: 'blue-fox',
  dir,
  kernel: '/k/vmlinux',
  cmdline: ['root=/dev/vda'],
  systemDisk: { path: `${dir}/system.qcow2`, format: 'qcow2' },
  workDisk: `${dir}/work.ext4`,
  vcpu: 1,
  memoryMiB: 512,
  network: {
    mode: 'user',
    sshPort: 40022,
    nat: false,
    egress: { port: 41234, command: '/bin/busybox nc 127.0.0.1 41234' },
  },
};
const argv = (s: LaunchSpec) => ['/usr/bin/qemu-system-x86_64', ...qemuArgs(s, 'tcg')];

test('handles from a user-mode QEMU: its ssh port, egress port, data port and accel', () => {
  assert.deepEqual(handlesFromArgs(argv(spec), 77, dir, id, 'then'), {
    driver: 'qemu',
    accel: 'tcg',
    pid: 77,
    controlSocket: `${dir}/qmp.sock`,
    consoleLog: `${dir}/console.log`,
    sshPort: 40022,
    startedAt: 'then',
    dataSocket: `${dir}/data.sock`,
    egressPort: 41234,
  });
  const tap = {
    ...spec,
    network: { mode: 'tap' as const, tap: 'bt-0123', mac: '52:54:00:00:00:01' },
  };
  const h = handlesFromArgs(argv(tap), 78, dir, id, 'then');
  assert.equal(h?.sshPort, 22);
  assert.equal(h?.egressPort, undefined);
});

test('handles: another VM, another program or a command line without the ssh forward are not adopted', () => {
  assert.equal(handlesFromArgs(argv(spec), 77, dir, 'fedcba9876543210', 'x'), undefined);
  assert.equal(
    handlesFromArgs(['/bin/sleep', ...argv(spec).slice(1)], 77, dir, id, 'x'),
    undefined,
  );
  const bare = argv(spec).map((a) => a.replace(/hostfwd=[^,]+,?/, ''));
  assert.equal(handlesFromArgs(bare, 77, dir, id, 'x'), undefined);
});

const root = await mkdtemp(join(tmpdir(), 'banger-adopt-'));
after(() => rm(root, { recursive: true, force: true }));

test('findRunningQemu: by the pid file, else by -name among all processes; a zombie never matches', async () => {
  const proc = join(root, 'proc');
  const vmDir = join(root, 'vm');
  await mkdir(vmDir, { recursive: true });
  const put = async (pid: number, args: string[]) => {
    await mkdir(join(proc, String(pid)), { recursive: true });
    await writeFile(join(proc, String(pid), 'cmdline'), args.length ? `${args.join('\0')}\0` : '');
  };
  const mine = argv({ ...spec, dir: vmDir });
  await put(10, ['/sbin/init']);
  await put(20, []); // a zombie: no command line
  await put(30, mine);
  assert.equal((await findRunningQemu(vmDir, id, proc))?.pid, 30, 'found by -name');
  await writeFile(join(vmDir, 'qemu.pid'), '20\n');
  assert.equal(
    (await findRunningQemu(vmDir, id, `${proc}/`))?.pid,
    30,
    'a zombie pid file is passed over',
  );
  assert.equal(await findRunningQemu(vmDir, 'ffffffffffffffff', `${proc}//`), undefined);
});
