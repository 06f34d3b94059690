import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { MiB } from '../config/size.js';
import { CgroupLimits } from './cgroup.js';
import { SubprocessError } from '../errors.js';
import type { Runner } from '../system/runner.js';
import { detectLimits, makeHostLimits, verifyLimits } from './detect.js';
import { vmLimits, type LimitsMechanism } from './host-limits.js';
import { SystemdLimits } from './systemd.js';

const run = promisify(execFile);

let tree: string;
before(async () => {
  tree = await mkdtemp(join(tmpdir(), 'banger-limits-'));
});
after(() => rm(tree, { recursive: true, force: true }));

/** A made-up root with the given files (empty unless text is given). */
async function root(name: string, files: Record<string, string>): Promise<string> {
  const dir = join(tree, name);
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    if (path.endsWith('/')) await mkdir(join(dir, path), { recursive: true });
    else await writeFile(join(dir, path), text);
  }
  return dir;
}

test('vmLimits: the guest memory plus QEMU overhead, the vCPUs plus one', () => {
  assert.deepEqual(vmLimits(2, 1024), { memoryBytes: 1280 * MiB, cpuPercent: 300 });
});

describe('detectLimits', () => {
  test('systemd runs the host: a scope, system or user; no systemd-run is said', async () => {
    const r = await root('systemd', { 'run/systemd/system/': '' });
    const bus = join(r, 'bus');
    assert.deepEqual(await detectLimits({ root: r, uid: 0, systemdRun: '/usr/bin/systemd-run' }), {
      kind: 'systemd',
      user: false,
    });
    await writeFile(bus, '');
    assert.deepEqual(
      await detectLimits({ root: r, uid: 1000, systemdRun: '/bin/systemd-run', userBus: bus }),
      { kind: 'systemd', user: true },
    );
    assert.deepEqual(await detectLimits({ root: r, uid: 0, systemdRun: undefined }), {
      kind: 'none',
      why: 'systemd runs this host but systemd-run is not installed',
    });
  });

  test('cgroup v2 with cpu and memory; without them, none saying so', async () => {
    const v2 = await root('v2', {
      'sys/fs/cgroup/cgroup.controllers': 'cpuset cpu io memory pids\n',
    });
    assert.deepEqual(await detectLimits({ root: v2, uid: 0, systemdRun: undefined }), {
      kind: 'cgroup2',
      dir: join(v2, 'sys/fs/cgroup/banger'),
    });
    const bare = await root('v2-bare', { 'sys/fs/cgroup/cgroup.controllers': 'pids\n' });
    assert.deepEqual(await detectLimits({ root: bare, systemdRun: undefined }), {
      kind: 'none',
      why: `cgroup v2 at ${join(bare, 'sys/fs/cgroup')} offers no cpu and memory controllers`,
    });
  });

  test('cgroup v1: nested under this process own memory and cpu cgroups', async () => {
    const v1 = await root('v1', {
      'sys/fs/cgroup/memory/outer/cgroup.procs': '',
      'sys/fs/cgroup/cpu/cgroup.procs': '',
    });
    const selfCgroup = '4:memory:/outer\n2:cpu,cpuacct:/\n0::/\n';
    assert.deepEqual(await detectLimits({ root: v1, selfCgroup, systemdRun: undefined }), {
      kind: 'cgroup1',
      memoryDir: join(v1, 'sys/fs/cgroup/memory/outer/banger'),
      cpuDir: join(v1, 'sys/fs/cgroup/cpu/banger'),
    });
    const noCpu = await detectLimits({
      root: v1,
      selfCgroup: '4:memory:/outer\n',
      systemdRun: undefined,
    });
    assert.equal(noCpu.kind, 'none');
  });
});

test('SystemdLimits: QEMU runs in a scope of its own with MemoryMax and CPUQuota', async () => {
  const argv = await new SystemdLimits({ kind: 'systemd', user: true }).wrap(
    'abc',
    { memoryBytes: 1000, cpuPercent: 300 },
    ['qemu-system-x86_64', '-name', 'banger-abc'],
  );
  const unit = argv.find((a) => a.startsWith('--unit='));
  assert.match(unit ?? '', /^--unit=banger-abc-[0-9a-z]+$/);
  assert.deepEqual(
    argv.filter((a) => a !== unit),
    [
      ...['systemd-run', '--user', '--scope', '--quiet', '--collect'],
      ...['-p', 'MemoryMax=1000', '-p', 'CPUQuota=300%', '--'],
      ...['qemu-system-x86_64', '-name', 'banger-abc'],
    ],
  );
});

/** Runs a wrapped `sh -c 'echo $$'`: the pid it prints is the one the wrapper wrote. */
async function runWrapped(argv: string[]): Promise<number> {
  const [command = '', ...args] = argv;
  const { stdout } = await run(command, args);
  return Number(stdout.trim());
}

test('CgroupLimits v2 (made-up tree): limits written, the command joins before it runs', async () => {
  const fs = await root('v2-direct', { 'sys/fs/cgroup/cgroup.subtree_control': '' });
  const dir = join(fs, 'sys/fs/cgroup/banger');
  const limits = new CgroupLimits({ kind: 'cgroup2', dir });
  const pid = await runWrapped(
    await limits.wrap('vm1', { memoryBytes: 5 * MiB, cpuPercent: 150 }, ['sh', '-c', 'echo $$']),
  );
  const read = (path: string) => readFile(join(dir, path), 'utf8');
  assert.equal(await read('vm1/memory.max'), String(5 * MiB));
  assert.equal(await read('vm1/cpu.max'), '150000 100000');
  assert.equal(await read('cgroup.subtree_control'), '+cpu +memory');
  assert.equal(Number(await read('vm1/cgroup.procs')), pid);
});

test('CgroupLimits: a cgroup that cannot be made is a clear error', async () => {
  const file = join(tree, 'not-a-dir');
  await writeFile(file, '');
  const limits = new CgroupLimits({ kind: 'cgroup2', dir: join(file, 'banger') });
  await assert.rejects(limits.wrap('vm2', vmLimits(1, 64), ['true']), (err: Error) => {
    assert.match(err.message, /^could not confine vm vm2 in a cgroup: /);
    return true;
  });
});

// The real thing, on the host running the tests: a process confined, its cgroup removed
// once it is gone. Under a test-only name beside banger's own directory.
test('CgroupLimits on this host: a process in its cgroup with its limits; swept after it exits', async (t) => {
  const found = await detectLimits();
  if (found.kind !== 'cgroup1' && found.kind !== 'cgroup2') {
    t.skip(`this host confines through ${found.kind} (${JSON.stringify(found)})`);
    return;
  }
  const suffix = `banger-test-${process.pid}`;
  const mechanism: LimitsMechanism =
    found.kind === 'cgroup2'
      ? { kind: 'cgroup2', dir: join(dirname(found.dir), suffix) }
      : {
          kind: 'cgroup1',
          memoryDir: join(dirname(found.memoryDir), suffix),
          cpuDir: join(dirname(found.cpuDir), suffix),
        };
  const bases =
    mechanism.kind === 'cgroup2' ? [mechanism.dir] : [mechanism.memoryDir, mechanism.cpuDir];
  const limits = makeHostLimits(mechanism);
  assert.ok(limits);
  try {
    const [command = '', ...args] = await limits.wrap('vm3', vmLimits(1, 100), ['sleep', '30']);
    const child = spawn(command, args, { stdio: 'ignore' });
    const pid = child.pid ?? 0;
    const exited = new Promise((r) => child.on('exit', r));
    const inCgroup = async () =>
      (await readFile(`/proc/${pid}/cgroup`, 'utf8')).includes(`/${suffix}/vm3`);
    for (let i = 0; i < 100 && !(await inCgroup()); i++)
      await new Promise((r) => setTimeout(r, 20));
    assert.ok(await inCgroup(), await readFile(`/proc/${pid}/cgroup`, 'utf8'));
    limits.settled('vm3'); // as QemuVmm says once QEMU has daemonized
    const limitFile =
      mechanism.kind === 'cgroup2'
        ? join(mechanism.dir, 'vm3/memory.max')
        : join(mechanism.memoryDir, 'vm3/memory.limit_in_bytes');
    assert.equal((await readFile(limitFile, 'utf8')).trim(), String(356 * MiB));
    await limits.sweep(); // it is still in there: kept
    assert.ok(await stat(join(bases[0] ?? '', 'vm3')));
    // A VM between wrap and its QEMU joining has an empty cgroup: a sweep then leaves it.
    await limits.wrap('vm4', vmLimits(1, 100), ['true']);
    await limits.sweep();
    assert.ok(await stat(join(bases[0] ?? '', 'vm4')), 'a starting VM keeps its cgroup');
    limits.settled('vm4');
    await limits.sweep();
    await assert.rejects(stat(join(bases[0] ?? '', 'vm4')), { code: 'ENOENT' });
    child.kill('SIGKILL');
    await exited;
    await limits.sweep();
    for (const base of bases)
      await assert.rejects(stat(join(base, 'vm3')), { code: 'ENOENT' }, `${base}/vm3 left`);
  } finally {
    for (const base of bases) {
      for (const vm of ['vm3', 'vm4']) await rmdir(join(base, vm)).catch(() => undefined);
      await rmdir(base).catch(() => undefined);
    }
  }
  assert.equal(basename(bases[0] ?? ''), suffix);
});

test('verifyLimits: a systemd scope is tried once; a failure is none with its words', async () => {
  const calls: string[][] = [];
  const runner = (fail: boolean): Runner => ({
    run: (file, args) => {
      calls.push([file, ...args]);
      return fail
        ? Promise.reject(new SubprocessError('systemd-run', 1, 'Failed to connect to bus'))
        : Promise.resolve({ command: file, exitCode: 0, stdout: '', stderr: '' });
    },
    stream: () => {
      throw new Error('not used');
    },
  });
  const systemd: LimitsMechanism = { kind: 'systemd', user: false };
  assert.deepEqual(await verifyLimits(systemd, runner(false)), systemd);
  assert.equal(calls[0]?.[0], 'systemd-run');
  assert.equal(calls[0]?.at(-1), 'true');
  const failed = await verifyLimits(systemd, runner(true));
  assert.equal(failed.kind, 'none');
  assert.match(
    failed.kind === 'none' ? failed.why : '',
    /^systemd-run --scope failed here: .*Failed to connect to bus/,
  );
  const v1: LimitsMechanism = { kind: 'cgroup1', memoryDir: '/m', cpuDir: '/c' };
  calls.length = 0;
  assert.deepEqual(await verifyLimits(v1, runner(true)), v1);
  assert.equal(calls.length, 0, 'nothing run for a cgroup banger makes itself');
});
