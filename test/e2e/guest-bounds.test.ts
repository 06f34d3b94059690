// A guest that misbehaves hurts only itself, on a real VM: one that prints to its serial
// console without end holds at most twice logs.console_max of host disk (bangerd rotates
// the log in place while QEMU appends), and one that fills its disk or its memory fails
// inside the guest while the VM, the host file and the daemon go on; its QEMU runs capped
// at the VM's memory and vCPUs where the host has cgroups.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { MiB } from '../../src/config/size.js';
import { detectLimits } from '../../src/limits/detect.js';
import { describeMechanism } from '../../src/limits/host-limits.js';
import { FIND_PORT } from '../../src/transfer/data-port.js';
import { waitFor, type Sandbox } from '../helpers/sandbox.js';
import { err, ok, out, vmSandbox } from '../helpers/vm.js';

const BOOT = { timeoutMs: 600_000 };
const CAP = 256 * 1024;

describe('bounds on a guest', () => {
  let sb: Sandbox;
  let dir = '';
  /** The VM's cgroups, when this host confines VMs in cgroups banger makes. */
  let cgroupDirs: string[] = [];
  before(async () => {
    sb = await vmSandbox({ config: `[logs]\nconsole_max = "256K"\n` });
    ok(
      await sb.cli(
        ['vm', 'create', '--name', 'noisy', '--memory', '512M', '--disk-size', '256M'],
        BOOT,
      ),
    );
    dir = String(
      (JSON.parse(out(ok(await sb.cli(['vm', 'show', 'noisy', '--json'])))) as { dir: string }).dir,
    );
  });
  after(() => sb?.dispose());

  const size = (file: string) =>
    stat(join(dir, file)).then(
      (s) => s.size,
      () => 0,
    );

  test('a console flood is rotated in place: the newest half kept, the VM and its console go on', async () => {
    // ~2 MiB of console output, eight times the cap, then a marker line.
    ok(
      await sb.cli(
        [
          ...['vm', 'exec', 'noisy', '--', 'sh', '-c'],
          'head -c 2000000 /dev/zero | tr "\\0" x > /dev/ttyS0; echo; echo after-the-flood > /dev/ttyS0',
        ],
        BOOT,
      ),
    );
    let log = 0;
    for (let i = 0; i < 40; i++) {
      log = await size('console.log');
      if (log <= CAP && (await size('console.log.1')) > 0) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    assert.ok(log <= CAP, `console.log is ${log} bytes`);
    assert.equal(await size('console.log.1'), CAP / 2);
    ok(await sb.cli(['vm', 'exec', 'noisy', '--', 'sh', '-c', 'echo still-here > /dev/ttyS0']));
    let text = '';
    for (let i = 0; i < 20 && !text.includes('still-here'); i++) {
      await new Promise((r) => setTimeout(r, 300));
      text = out(ok(await sb.cli(['vm', 'logs', 'noisy'])));
    }
    assert.match(text, /still-here/, 'QEMU writes on at the start of the truncated file');
  });

  test("the VM's QEMU runs in a cgroup capped at its memory and vCPUs; doctor says how", async (t) => {
    const mechanism = await detectLimits();
    if (mechanism.kind !== 'cgroup1' && mechanism.kind !== 'cgroup2') {
      t.skip(`this host confines VMs through ${describeMechanism(mechanism)}`);
      return;
    }
    const vm = JSON.parse(out(ok(await sb.cli(['vm', 'show', 'noisy', '--json'])))) as {
      id: string;
      pid: number;
      vcpu: number;
    };
    cgroupDirs =
      mechanism.kind === 'cgroup2' ? [mechanism.dir] : [mechanism.memoryDir, mechanism.cpuDir];
    cgroupDirs = cgroupDirs.map((d) => join(d, vm.id));
    assert.match(
      await readFile(`/proc/${vm.pid}/cgroup`, 'utf8'),
      new RegExp(`/banger/${vm.id}$`, 'm'),
    );
    const read = async (file: string) => (await readFile(file, 'utf8')).trim();
    const [memory = '', cpu = ''] = cgroupDirs;
    if (mechanism.kind === 'cgroup2') {
      assert.equal(await read(join(memory, 'memory.max')), String((512 + 256) * MiB));
      assert.equal(await read(join(memory, 'cpu.max')), `${(vm.vcpu + 1) * 100_000} 100000`);
    } else {
      assert.equal(await read(join(memory, 'memory.limit_in_bytes')), String((512 + 256) * MiB));
      assert.equal(await read(join(cpu, 'cpu.cfs_quota_us')), String((vm.vcpu + 1) * 100_000));
    }
    const doctor = out(await sb.cli(['doctor']));
    assert.match(doctor, /vm limits.*each VM's memory \+ 256M and vCPUs \+ 1: cgroup v[12] under/);
  });

  test('a guest flooding its data port with junk and false headers: copies never take it, bangerd goes on', async () => {
    const daemon = await sb.daemonPid();
    // The port found as banger's own scripts find it; junk and false frame headers forever.
    const flood = [
      FIND_PORT,
      `setsid sh -c 'while :; do head -c 65536 /dev/urandom; printf "banger-data:%032d" 0; done > "$1"' flood "$port" >/dev/null 2>&1 < /dev/null &`,
      'echo $! > /root/flood.pid',
    ].join('\n');
    ok(await sb.cli(['vm', 'exec', 'noisy', '--', 'sh', '-c', flood]));
    const sum = out(
      ok(
        await sb.cli([
          ...['vm', 'exec', 'noisy', '--', 'sh', '-c'],
          'head -c 2000000 /dev/urandom > /root/blob && sha256sum /root/blob',
        ]),
      ),
    ).split(' ')[0];
    const dest = join(sb.dir, 'copies');
    await mkdir(dest, { recursive: true });
    const host = async () => {
      const bytes = await readFile(join(dest, 'blob')).catch(() => undefined);
      return bytes && createHash('sha256').update(bytes).digest('hex');
    };
    for (let i = 0; i < 3; i++) {
      const r = await sb.cli(['vm', 'cp', 'noisy:/root/blob', dest], { timeoutMs: 180_000 });
      // Either it arrived whole (the junk is not this copy's: refused, or the copy went over
      // ssh) or it failed in one line; never a file of junk, never anything beside it.
      if (r.exitCode === 0) assert.equal(await host(), sum, 'the copy is the guest file');
      else {
        assert.match(err(r), /^banger: \S/m, err(r));
        assert.equal(await host(), undefined, 'no half copy');
      }
      assert.deepEqual(
        (await readdir(dest)).filter((n) => n !== 'blob'),
        [],
        'nothing written beside the copy',
      );
      await rm(join(dest, 'blob'), { force: true });
      assert.equal(await sb.daemonPid(), daemon, 'the same bangerd');
      ok(await sb.cli(['vm', 'ls']), 'bangerd answers');
    }
    ok(await sb.cli(['vm', 'exec', 'noisy', '--', 'sh', '-c', 'kill $(cat /root/flood.pid)']));
    // Junk already in flight (a last `head` of the flood, what the port buffers) may spoil
    // the next copy too: copies are tried until one goes through, whole.
    await waitFor(
      'a copy after the flood',
      async () =>
        (await sb.cli(['vm', 'cp', 'noisy:/root/blob', dest], { timeoutMs: 180_000 })).exitCode ===
        0,
      120_000,
    );
    assert.equal(await host(), sum, 'a copy after the flood goes through');
  });

  test('a guest that fills its disk and its memory fails inside; the host file stays its size', async () => {
    const before = (await stat(join(dir, 'work.ext4'))).size;
    const r = await sb.cli(
      [
        ...['vm', 'exec', 'noisy', '--', 'sh', '-c'],
        'dd if=/dev/zero of=/root/fill bs=1M 2>&1 | grep -o "No space left on device" | head -n 1; rm -f /root/fill; perl -e \'$x = "x" x (8 * 2**30)\' 2>/dev/null; echo "memory hog exited $?"',
      ],
      BOOT,
    );
    assert.equal(r.exitCode, 0, err(r));
    assert.match(out(r), /No space left on device/);
    assert.match(out(r), /memory hog exited [1-9]/);
    assert.equal((await stat(join(dir, 'work.ext4'))).size, before);
    ok(await sb.cli(['vm', 'exec', 'noisy', '--', 'true']), 'the VM answers');
    ok(await sb.cli(['vm', 'rm', 'noisy']));
    // The VM's cgroup went with its QEMU.
    for (const dir of cgroupDirs)
      await waitFor(
        `${dir} removed`,
        () =>
          stat(dir).then(
            () => false,
            () => true,
          ),
        60_000, // a killed QEMU may linger as a zombie a while: bangerd sweeps again
      );
  });
});
