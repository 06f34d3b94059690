import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { execa } from 'execa';
import {
  alive,
  CLI,
  killHard,
  sandboxProcesses,
  waitFor,
  type Sandbox,
} from '../helpers/sandbox.js';
import { assertNoVmLeft, err, ok, out, vmShow, vmSandbox } from '../helpers/vm.js';

const BOOT = { timeoutMs: 600_000 };
const exists = (p: string) =>
  stat(p).then(
    () => true,
    () => false,
  );

// Every vm verb on real VMs (QEMU microvm, TCG here), through the real CLI, one sandbox.
describe('VM lifecycle', () => {
  let sb: Sandbox;
  before(async () => {
    sb = await vmSandbox();
  });
  after(() => sb?.dispose());

  test('create → write in /root → stop → start → the file is there; restart keeps it', async () => {
    const created = ok(await sb.cli(['vm', 'create', '--name', 'box', '--memory', '1G'], BOOT));
    assert.equal(out(created), 'box');
    assert.match(err(created), /^spec: \d+ vcpu · 1024 MiB · \d+G disk · qemu\/(tcg|kvm)$/m);
    ok(await sb.cli(['vm', 'ssh', 'box', '--', 'sh', '-c', 'echo kept > /root/note.txt && sync']));
    const stopped = ok(await sb.cli(['vm', 'stop', 'box'], BOOT));
    assert.equal(out(stopped), 'box stopped');
    assert.match(out(await sb.cli(['vm', 'ls'])), /^box\s+stopped\s/m);
    assert.equal(out(ok(await sb.cli(['vm', 'stop', 'box']))), 'box was not running');
    assert.equal(out(ok(await sb.cli(['vm', 'start', 'box'], BOOT))), 'box running');
    assert.equal(
      out(ok(await sb.cli(['vm', 'ssh', 'box', '--', 'cat', '/root/note.txt']))),
      'kept',
    );
    assert.equal(out(ok(await sb.cli(['vm', 'restart', 'box'], BOOT))), 'box running');
    const r = ok(
      await sb.cli([
        'vm',
        'ssh',
        'box',
        '--',
        'sh',
        '-c',
        'cat /root/note.txt; hostname; stat -c %a:%U /root /root/.ssh /root/.ssh/authorized_keys',
      ]),
    );
    assert.equal(out(r), 'kept\nbox\n755:root\n700:root\n600:root');
  });

  test('vm ssh passes exit codes through, 128+N for a signal; start on a running VM is refused', async () => {
    assert.equal((await sb.cli(['vm', 'ssh', 'box', '--', 'sh', '-c', 'exit 3'])).exitCode, 3);
    const term = await sb.cli(['vm', 'ssh', 'box', '--', 'sh', '-c', 'kill -TERM $$']);
    assert.equal(term.exitCode, 143, err(term));
    assert.doesNotMatch(err(term), /ssh .* failed/, 'a signalled command is not an ssh failure');
    const r = await sb.cli(['vm', 'start', 'box']);
    assert.equal(r.exitCode, 1);
    assert.match(err(r), /vm "box" is running: "banger vm start" needs it stopped/);
    assert.match(err(r), /stop it first: banger vm stop box/);
  });

  test('show, stats and logs describe the running VM', async () => {
    const show = await vmShow(sb, 'box');
    assert.equal(show.state, 'running');
    assert.equal(show.memoryMiB, 1024);
    assert.equal(typeof show.pid, 'number');
    assert.equal(typeof show.sshPort, 'number');
    const stats = JSON.parse(out(ok(await sb.cli(['vm', 'stats', 'box', '--json'])))) as {
      running: boolean;
      host: { rssBytes: number; cpuSeconds: number; guestResidentBytes: number };
      disk: { workBytes: number; workSizeBytes: number };
      guest: { uptimeSeconds: number; memoryTotalBytes: number; memoryUsedBytes: number };
    };
    assert.equal(stats.running, true);
    assert.ok(stats.host.rssBytes > 0 && stats.host.cpuSeconds > 0);
    // Guest RAM is found in QEMU's mappings, and is part of its RSS.
    assert.ok(stats.host.guestResidentBytes > 16 * 2 ** 20);
    assert.ok(stats.host.guestResidentBytes < stats.host.rssBytes);
    assert.ok(stats.disk.workBytes > 0 && stats.disk.workBytes < stats.disk.workSizeBytes);
    assert.ok(stats.guest.memoryTotalBytes > 512 * 2 ** 20);
    assert.ok(stats.guest.memoryUsedBytes > 0);
    assert.match(
      out(ok(await sb.cli(['vm', 'stats', 'box']))),
      /^host rss\s+[\d.]+ MiB \(guest RAM [\d.]+ MiB, VMM [\d.]+ MiB\)$/m,
    );
    assert.match(out(ok(await sb.cli(['vm', 'logs', 'box']))), /banger-guest: sshd ready/);
    // -f keeps printing what the guest writes to its console.
    const follow = execa(process.execPath, [CLI, 'vm', 'logs', '-f', 'box'], {
      env: sb.env,
      extendEnv: false,
      reject: false,
    });
    let followed = '';
    follow.stdout?.on('data', (d: Buffer) => (followed += d.toString()));
    try {
      await waitFor('the console so far', () => followed.includes('sshd ready'), 10_000);
      ok(await sb.cli(['vm', 'ssh', 'box', '--', 'sh', '-c', 'echo followed-line > /dev/ttyS0']));
      await waitFor('the new console line', () => followed.includes('followed-line'), 10_000);
    } finally {
      follow.kill();
      await follow;
    }
  });

  test('kill -9 of the daemon: the VM keeps running, the next command finds it', async () => {
    const daemon = await sb.daemonPid();
    assert.ok(daemon);
    const vmPid = (await vmShow(sb, 'box')).pid as number;
    killHard(daemon);
    await waitFor('the daemon to die', () => !alive(daemon));
    assert.ok(alive(vmPid), 'the VM survived its daemon');
    // The next command starts a new daemon, whose reconcile keeps the VM.
    assert.match(out(ok(await sb.cli(['vm', 'ls']))), /^box\s+running\s/m);
    assert.notEqual(await sb.daemonPid(), daemon);
    assert.equal(
      out(ok(await sb.cli(['vm', 'ssh', 'box', '--', 'cat', '/root/note.txt']))),
      'kept',
    );
    assert.equal((await vmShow(sb, 'box')).pid, vmPid);
  });

  test('kill -9 of the VM process: reconcile marks it stopped and cleans its leftovers', async () => {
    const show = await vmShow(sb, 'box');
    const dir = show.dir as string;
    killHard(show.pid as number);
    await waitFor(
      'qemu to die',
      async () => !(await readFile(`/proc/${String(show.pid)}/cmdline`, 'utf8').catch(() => '')),
    );
    assert.match(out(ok(await sb.cli(['vm', 'ls']))), /^box\s+stopped\s/m);
    for (const f of ['handles.json', 'qmp.sock', 'qemu.pid'])
      assert.equal(await exists(join(dir, f)), false, f);
    assert.deepEqual(await sandboxProcesses(sb.dir), []);
    // Its work disk survived the crash (the journal is replayed before banger edits it).
    ok(await sb.cli(['vm', 'start', 'box'], BOOT));
    assert.equal(
      out(ok(await sb.cli(['vm', 'ssh', 'box', '--', 'cat', '/root/note.txt']))),
      'kept',
    );
  });

  test('vm set: only when stopped; memory, vcpus, and a work disk that only grows', async () => {
    const running = await sb.cli(['vm', 'set', 'box', '--memory', '2G']);
    assert.equal(running.exitCode, 1);
    assert.match(err(running), /vm "box" is running: "banger vm set" needs it stopped/);
    ok(await sb.cli(['vm', 'stop', 'box'], BOOT));
    const ssh = await sb.cli(['vm', 'ssh', 'box', '--', 'true']);
    assert.equal(ssh.exitCode, 1);
    assert.match(err(ssh), /vm "box" is stopped: "banger vm ssh" needs it running/);
    assert.match(err(ssh), /start it first: banger vm start box/);
    const shrink = await sb.cli(['vm', 'set', 'box', '--disk-size', '1G']);
    assert.equal(shrink.exitCode, 1);
    assert.match(err(shrink), /the work disk only grows/);
    const set = ok(
      await sb.cli(['vm', 'set', 'box', '--vcpu', '1', '--memory', '768M', '--disk-size', '12G']),
    );
    assert.equal(out(set), 'box: 1 vcpu · 768 MiB · 12G disk');
    ok(await sb.cli(['vm', 'start', 'box'], BOOT));
    const r = ok(
      await sb.cli([
        'vm',
        'ssh',
        'box',
        '--',
        'sh',
        '-c',
        'nproc; df -B1G --output=size /root | tail -1; cat /root/note.txt',
      ]),
    );
    const [cpus, size, note] = out(r)
      .trim()
      .split('\n')
      .map((l) => l.trim());
    assert.equal(cpus, '1');
    assert.ok(Number(size) >= 11, `work disk ${size}G`);
    assert.equal(note, 'kept');
  });

  test('two VMs at once: distinct names and ports; --nat decides whether the guest gets out', async () => {
    // The host side of "outside": a server on the host's loopback, which the guest reaches as
    // 10.0.2.2 through QEMU user networking only when it may leave its sandbox.
    const server: Server = createServer((_, res) => res.end('hello from the host\n'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      const [a, b] = await Promise.all([
        sb.cli(['vm', 'create', '--nat'], BOOT),
        sb.cli(['vm', 'create'], BOOT),
      ]);
      const natName = out(ok(a)).trim();
      const plainName = out(ok(b)).trim();
      assert.notEqual(natName, plainName);
      for (const name of [natName, plainName]) assert.match(name, /^[a-z]+-[a-z]+(-\d+)?$/);
      const [na, nb] = await Promise.all([vmShow(sb, natName), vmShow(sb, plainName)]);
      assert.notEqual(na.sshPort, nb.sshPort);
      // Each VM got its own ssh host key from banger, and made none at boot.
      const hostKey = [
        '--',
        'sh',
        '-c',
        'cat /root/.banger/ssh_host_ed25519_key.pub; ls /etc/ssh/ssh_host_* 2>&1',
      ];
      const [ka, kb] = await Promise.all([
        sb.cli(['vm', 'ssh', natName, ...hostKey]),
        sb.cli(['vm', 'ssh', plainName, ...hostKey]),
      ]);
      for (const k of [ka, kb])
        assert.match(out(k), /^ssh-ed25519 \S+ banger-vm [a-z-]+\n.*No such file or directory$/);
      assert.notEqual(out(ka).split('\n')[0], out(kb).split('\n')[0]);
      // Straight there, not through the egress proxy vm ssh points curl at.
      const fetch = ['--', 'curl', '--noproxy', '*', '-sS', '-m', '5', `http://10.0.2.2:${port}/`];
      const natFetch = await sb.cli(['vm', 'ssh', natName, ...fetch]);
      assert.equal(out(natFetch), 'hello from the host', err(natFetch));
      const plainFetch = await sb.cli(['vm', 'ssh', plainName, ...fetch]);
      assert.notEqual(plainFetch.exitCode, 0, 'a VM without --nat reached the host');
      // Leave one stopped for prune.
      ok(await sb.cli(['vm', 'stop', plainName], BOOT));
    } finally {
      server.close();
    }
  });

  test('prune: asks (refuses without a terminal), then deletes every VM not running', async () => {
    const refused = await sb.cli(['vm', 'prune']);
    assert.equal(refused.exitCode, 2);
    assert.match(err(refused), /stdin is not a terminal/);
    ok(await sb.cli(['vm', 'stop', 'box'], BOOT));
    const before = JSON.parse(out(ok(await sb.cli(['vm', 'ls', '--json'])))) as {
      name: string;
      state: string;
    }[];
    const doomed = before
      .filter((v) => v.state !== 'running')
      .map((v) => v.name)
      .sort();
    assert.equal(doomed.length, 2);
    const pruned = ok(await sb.cli(['vm', 'prune', '--force']));
    assert.deepEqual(
      out(pruned).trim().split('\n').sort(),
      doomed.map((n) => `${n} deleted`),
    );
    const left = JSON.parse(out(ok(await sb.cli(['vm', 'ls', '--json'])))) as { state: string }[];
    assert.deepEqual(
      left.map((v) => v.state),
      ['running'],
    );
  });

  test('delete: several at once, partial failures named, everything cleaned', async () => {
    const names = (JSON.parse(out(await sb.cli(['vm', 'ls', '--json']))) as { name: string }[]).map(
      (v) => v.name,
    );
    const r = await sb.cli(['vm', 'rm', ...names, 'no-such-vm']);
    assert.equal(r.exitCode, 1);
    assert.match(err(r), /vm "no-such-vm" not found/);
    assert.match(err(r), new RegExp(`could not delete 1 of ${names.length + 1} VMs: no-such-vm`));
    assert.match(out(await sb.cli(['vm', 'ls'])), /no VMs yet/);
    await assertNoVmLeft(sb);
  });
});
