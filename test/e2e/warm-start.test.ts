import assert from 'node:assert/strict';
import { execa } from 'execa';
import { mkdir, readdir, readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CacheName, TemplateFileName } from '../../src/config/layout.js';
import { goldenImage } from '../helpers/golden.js';
import {
  killHard,
  SANDBOX_CONFIG,
  sandboxProcesses,
  waitFor,
  type Sandbox,
} from '../helpers/sandbox.js';
import { assertNoVmLeft, err, ok, out, vmSandbox } from '../helpers/vm.js';

const LONG = { timeoutMs: 600_000 };
const SIZE = ['--memory', '1G'];

interface Facts {
  hostname: string;
  machineId: string;
  bootId: string;
  hostKey: string;
  clockSkew: number;
  leftovers: string;
}

// Warm start on real VMs: a template is a VM booted once and saved; new VMs of its image and
// size resume it and must come out as new VMs in every way that matters.
describe('warm start', () => {
  let sb: Sandbox;
  let templatesDir: string;
  const templates = async () =>
    (await readdir(templatesDir).catch(() => [] as string[])).filter((n) => !n.includes('.'));
  const facts = async (name: string): Promise<Facts> => {
    const r = ok(
      await sb.cli([
        ...['vm', 'ssh', name, '--', 'sh', '-c'],
        'hostname; cat /etc/machine-id /proc/sys/kernel/random/boot_id /root/.banger/ssh_host_ed25519_key.pub; date +%s.%N; ls -A /tmp /root | grep -c history || true',
      ]),
    );
    const host = Date.now() / 1000;
    const [hostname = '', machineId = '', bootId = '', hostKey = '', clock = '', leftovers = ''] =
      out(r).trim().split('\n');
    return {
      hostname,
      machineId,
      bootId,
      hostKey: hostKey.split(' ').slice(0, 2).join(' '),
      clockSkew: Math.abs(host - Number(clock)),
      leftovers,
    };
  };

  before(async () => {
    sb = await vmSandbox();
    templatesDir = join(sb.layout.cacheDir, CacheName.templates);
  });
  after(() => sb?.dispose());

  test('image warm makes a template; a warm vm run prints the new VM’s own name', async () => {
    const warm = ok(await sb.cli(['image', 'warm', 'debian-bookworm', ...SIZE], LONG));
    assert.match(
      out(warm),
      /^debian-bookworm: warm for 2 vcpu · 1024 MiB · \d+G disk \(template [0-9a-f]{16}\)$/m,
    );
    assert.equal((await templates()).length, 1);
    assert.match(
      out(ok(await sb.cli(['image', 'show', 'debian-bookworm']))),
      /^ {2}2 vcpu · 1024 MiB · .* user: /m,
    );

    const run = ok(
      await sb.cli(
        ['vm', 'run', '--rm', '--name', 'quick', ...SIZE, '--', 'cat', '/etc/hostname'],
        LONG,
      ),
    );
    assert.equal(out(run).trim(), 'quick');
    assert.match(err(run), /^spec: 2 vcpu · 1024 MiB · \d+G disk · qemu\/(tcg|kvm) · warm$/m);
    assert.match(err(run), /warm: resuming the debian-bookworm template/);
    assert.doesNotMatch(err(run), /wait for ssh/, 'a resumed VM does not boot');

    // A workspace rides the data port the identity hook let go of; a published port opens.
    const repo = join(sb.dir, 'repo');
    await mkdir(repo);
    const git = (...args: string[]) => execa('git', ['-C', repo, ...args]);
    await git('init', '-q', '-b', 'main');
    await writeFile(join(repo, 'hello.txt'), 'hi\n');
    await git('add', '.');
    await git('-c', 'user.email=t@example.invalid', '-c', 'user.name=t', 'commit', '-qm', 'first');
    const ws = ok(
      await sb.cli(
        ['vm', 'run', repo, '--rm', '--publish', '0:8080', ...SIZE, '--', 'cat', 'hello.txt'],
        LONG,
      ),
    );
    assert.equal(out(ws).trim(), 'hi');
    assert.match(err(ws), /· warm$/m);
    assert.match(err(ws), /files over the data port/);
    assert.match(err(ws), /published: 127\.0\.0\.1:\d+ → \S+ port 8080/);
  });

  test('two VMs resumed from one template differ in name, machine-id, boot_id and host key; clocks are now', async () => {
    ok(await sb.cli(['vm', 'create', '--name', 'twin-a', ...SIZE], LONG));
    ok(await sb.cli(['vm', 'create', '--name', 'twin-b', ...SIZE], LONG));
    const a = await facts('twin-a');
    const b = await facts('twin-b');
    assert.equal(a.hostname, 'twin-a');
    assert.equal(b.hostname, 'twin-b');
    assert.match(a.machineId, /^[0-9a-f]{32}$/);
    assert.notEqual(a.machineId, b.machineId);
    assert.match(a.bootId, /^[0-9a-f-]{36}$/);
    assert.notEqual(a.bootId, b.bootId);
    assert.notEqual(a.hostKey, b.hostKey);
    // The key sshd serves is the one banger pinned for the VM: strict checking let us in, and
    // the pinned line is the guest's key.
    const knownHosts = await readFile(sb.layout.knownHosts, 'utf8');
    assert.ok(knownHosts.includes(`twin-a.vm ${a.hostKey}`), 'twin-a key pinned');
    assert.ok(knownHosts.includes(`twin-b.vm ${b.hostKey}`), 'twin-b key pinned');
    for (const f of [a, b]) {
      assert.ok(
        f.clockSkew < 2,
        `guest clock within 2 s of the host's (${f.clockSkew.toFixed(2)} s)`,
      );
      assert.equal(f.leftovers, '0', 'no shell history in /root, nothing of the template in /tmp');
    }
    // Each has its own RNG: the same read gives different bytes.
    const random = async (n: string) =>
      out(
        ok(
          await sb.cli(['vm', 'ssh', n, '--', 'sh', '-c', 'head -c 16 /dev/urandom | od -An -tx1']),
        ),
      );
    assert.notEqual(await random('twin-a'), await random('twin-b'));
    // A warm VM forks: the template's RAM file is copied, then what twin-b wrote over it.
    ok(await sb.cli(['vm', 'ssh', 'twin-b', '--', 'sh', '-c', 'echo mine > /tmp/twin-b']));
    ok(await sb.cli(['vm', 'fork', 'twin-b', '--name', 'twin-c'], LONG));
    const c = await facts('twin-c');
    assert.equal(c.hostname, 'twin-c');
    assert.notEqual(c.bootId, b.bootId, 'the fork found twin-b’s own boot_id and replaced it');
    assert.equal(
      out(ok(await sb.cli(['vm', 'ssh', 'twin-c', '--', 'cat', '/tmp/twin-b']))).trim(),
      'mine',
    );
    ok(await sb.cli(['vm', 'rm', 'twin-c']));
    // An ordinary VM afterwards: it stops, starts cold from its own disks, keeps its files.
    ok(await sb.cli(['vm', 'ssh', 'twin-a', '--', 'sh', '-c', 'echo kept > /root/note && sync']));
    ok(await sb.cli(['vm', 'restart', 'twin-a'], LONG));
    assert.equal(
      out(ok(await sb.cli(['vm', 'ssh', 'twin-a', '--', 'cat', '/root/note']))).trim(),
      'kept',
    );
    assert.equal((await facts('twin-a')).hostKey, a.hostKey, 'the host key lives on its work disk');
    ok(await sb.cli(['vm', 'rm', 'twin-a', 'twin-b']));
  });

  test('--cold boots even with a template; a template that cannot resume is removed and the VM boots', async () => {
    const cold = ok(await sb.cli(['vm', 'run', '--rm', '--cold', ...SIZE, '--', 'true'], LONG));
    assert.doesNotMatch(err(cold), /warm/);
    assert.match(err(cold), /wait for ssh/);

    const [key] = await templates();
    await truncate(join(templatesDir, key!, TemplateFileName.state), 100);
    const r = ok(
      await sb.cli(['vm', 'run', '--rm', '--name', 'fallback', ...SIZE, '--', 'hostname'], LONG),
    );
    assert.equal(out(r).trim(), 'fallback');
    assert.match(err(r), /the template did not resume \(.+\): removed; booting cold/);
    assert.match(err(r), /wait for ssh/);
    assert.deepEqual(await templates(), []);
    await assertNoVmLeft(sb);
  });

  test('[warm] auto: a cold boot makes the template in the background; a changed image gets a new one', async () => {
    await writeFile(
      sb.layout.configFile,
      `${SANDBOX_CONFIG.replace('auto = false', 'auto = true')}`,
    );
    ok(await sb.cli(['daemon', 'stop']));
    const first = ok(await sb.cli(['vm', 'run', '--rm', ...SIZE, '--', 'true'], LONG));
    assert.doesNotMatch(err(first), /· warm/);
    await waitFor('the background template', async () => (await templates()).length === 1, 300_000);
    const [oldKey] = await templates();
    assert.match(
      err(ok(await sb.cli(['vm', 'run', '--rm', ...SIZE, '--', 'true'], LONG))),
      /· warm$/m,
    );

    // The image changes (registered again: a new image id): its old template no longer
    // matches, the next VM boots cold, and a new template replaces the old one.
    const golden = await goldenImage();
    ok(await sb.cli(['image', 'rm', 'debian-bookworm']));
    ok(
      await sb.cli([
        ...['image', 'register', 'debian-bookworm', '--rootfs', golden.rootfs],
        ...['--kernel', golden.kernel, '--initrd', golden.initrd, '--modules', golden.modules],
      ]),
    );
    const changed = ok(await sb.cli(['vm', 'run', '--rm', ...SIZE, '--', 'true'], LONG));
    assert.doesNotMatch(err(changed), /· warm/);
    await waitFor(
      'the new template',
      async () => {
        const now = await templates();
        return now.length === 1 && now[0] !== oldKey;
      },
      300_000,
    );
    assert.match(
      err(ok(await sb.cli(['vm', 'run', '--rm', ...SIZE, '--', 'true'], LONG))),
      /· warm$/m,
    );
  });

  test('kill -9 of the daemon while it makes a template leaves no process and no staging', async () => {
    const warm = sb.spawn(['image', 'warm', 'debian-bookworm', '--memory', '1500M']);
    const staging = join(templatesDir);
    await waitFor(
      'the template VM to boot',
      async () =>
        (await readdir(staging)).some((n) => n.endsWith('.staging')) &&
        (await sandboxProcesses(sb.dir)).length > 0,
      120_000,
    );
    const daemon = await sb.daemonPid();
    assert.ok(daemon);
    killHard(daemon);
    await warm.child.catch(() => undefined);
    // The next daemon cleans up what the dead one left.
    ok(await sb.cli(['vm', 'ls']));
    assert.deepEqual(
      (await readdir(staging)).filter((n) => n.endsWith('.staging')),
      [],
    );
    await waitFor(
      'no template VM process',
      async () => (await sandboxProcesses(sb.dir)).length === 0,
      20_000,
    );
    ok(await sb.cli(['image', 'warm', 'debian-bookworm', '--rm']));
    assert.deepEqual(await templates(), []);
    await assertNoVmLeft(sb);
  });
});
