import assert from 'node:assert/strict';
import { execa } from 'execa';
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FileName, vmFiles } from '../../src/config/layout.js';
import { alive, killHard, sandboxProcesses, waitFor, type Sandbox } from '../helpers/sandbox.js';
import { err, ok, out, vmShow, vmSandbox } from '../helpers/vm.js';

const LONG = { timeoutMs: 600_000 };
const exists = (p: string) =>
  stat(p).then(
    () => true,
    () => false,
  );

// vm fork and vm run --fork on real VMs: children are copies of the parent up to the fork —
// files, running processes — and nothing after, each a new VM; the parent runs on.
describe('vm fork', () => {
  let sb: Sandbox;
  const sh = async (vm: string, script: string) =>
    out(ok(await sb.cli(['vm', 'ssh', vm, '--', 'sh', '-c', script]))).trim();

  before(async () => {
    sb = await vmSandbox();
    ok(await sb.cli(['vm', 'create', '--name', 'base', '--memory', '1G'], LONG));
  });
  after(() => sb?.dispose());

  test('a child has the parent’s files and processes up to the fork, nothing after, its own identity', async () => {
    const pid = await sh(
      'base',
      'echo before > /root/f; nohup sh -c "while :; do sleep 0.2; done" >/dev/null 2>&1 & echo $!',
    );
    const forked = ok(await sb.cli(['vm', 'fork', 'base', '--name', 'kid'], LONG));
    assert.equal(out(forked).trim(), 'kid');
    assert.match(err(forked), /^base paused \d+ ms for the copy$/m);
    await sh('base', 'echo after > /root/g');

    assert.equal(await sh('kid', 'hostname'), 'kid');
    assert.equal(await sh('kid', 'cat /root/f'), 'before');
    assert.equal(await sh('kid', 'test -e /root/g && echo there || echo absent'), 'absent');
    assert.equal(
      await sh('kid', `kill -0 ${pid} && echo alive`),
      'alive',
      'the process was copied',
    );
    assert.equal(
      await sh('base', `kill -0 ${pid} && echo alive`),
      'alive',
      'and runs on in the parent',
    );
    const ids =
      'cat /etc/machine-id /proc/sys/kernel/random/boot_id /root/.banger/ssh_host_ed25519_key.pub';
    assert.notEqual(await sh('kid', ids), await sh('base', ids));
    assert.equal(await sh('kid', 'pgrep -fc "banger-warm-hoo[k]" || true'), '0', 'no hook left');
    assert.equal(await sh('base', 'pgrep -fc "banger-warm-hoo[k]" || true'), '0');
    // A child forks too: its RAM file (the fork's copy) is gone, so all of it is read.
    ok(await sb.cli(['vm', 'fork', 'kid', '--name', 'grandkid'], LONG));
    assert.equal(await sh('grandkid', 'hostname'), 'grandkid');
    assert.equal(
      await sh('grandkid', `cat /root/f; kill -0 ${pid} && echo alive`),
      'before\nalive',
    );
    assert.notEqual(await sh('grandkid', ids), await sh('kid', ids));
    ok(await sb.cli(['vm', 'rm', 'kid', 'grandkid']));
  });

  test('vm run --fork 3: three children at once, three exit codes, three patches', async () => {
    const repo = join(sb.dir, 'repo');
    await mkdir(repo);
    const git = (...args: string[]) => execa('git', ['-C', repo, ...args]);
    await git('init', '-q', '-b', 'main');
    await writeFile(join(repo, 'README'), 'base\n');
    await git('add', '.');
    await git('-c', 'user.email=t@example.invalid', '-c', 'user.name=t', 'commit', '-qm', 'base');
    const r = await sb.cli(
      [
        ...['vm', 'run', repo, '--name', 'tries', '--memory', '1G', '--fork', '3', '--'],
        ...[
          'sh',
          '-c',
          'hostname > result.txt; echo "said $(hostname)"; case $(hostname) in *-2) exit 3;; esac',
        ],
      ],
      LONG,
    );
    assert.equal(r.exitCode, 3, err(r));
    for (const k of [1, 2, 3])
      assert.match(out(r), new RegExp(`^\\[tries-${k}\\] said tries-${k}$`, 'm'));
    assert.match(out(r), /^CHILD\s+EXIT\s+CHANGED$/m);
    assert.match(out(r), /^tries-1\s+0\s+1 file: result\.txt$/m);
    assert.match(out(r), /^tries-2\s+3\s+1 file: result\.txt$/m);
    assert.match(out(r), /^tries-3\s+0\s+1 file: result\.txt$/m);
    const patches = new Set<string>();
    for (const k of [1, 2, 3]) {
      const patch = out(ok(await sb.cli(['vm', 'workspace', 'export', `tries-${k}`])));
      assert.match(patch, new RegExp(`^\\+tries-${k}$`, 'm'));
      patches.add(patch);
    }
    assert.equal(patches.size, 3);
    ok(await sb.cli(['vm', 'rm', 'tries', 'tries-1', 'tries-2', 'tries-3']));
  });

  test('kill -9 of the daemon during a fork: the parent runs on, no half-made child', async () => {
    const dir = String((await vmShow(sb, 'base')).dir);
    const forks = join(sb.layout.runtimeDir, FileName.forksDir);
    const fork = sb.spawn(['vm', 'fork', 'base', '--name', 'half']);
    await waitFor('the fork to pause its parent', () => exists(vmFiles(dir).forkPending), 120_000);
    killHard((await sb.daemonPid())!);
    await fork.child.catch(() => undefined);
    const ls = out(ok(await sb.cli(['vm', 'ls'])));
    assert.match(ls, /^base\s+running\s/m);
    assert.doesNotMatch(ls, /^half\s/m);
    assert.equal(await sh('base', 'cat /root/f'), 'before');
    assert.equal(await exists(vmFiles(dir).forkPending), false);
    assert.deepEqual(await readdir(forks).catch(() => []), []);
    const show = await vmShow(sb, 'base');
    await waitFor(
      'no process but the parent’s',
      async () => (await sandboxProcesses(sb.dir)).every((p) => p === show.pid || !alive(p)),
      20_000,
    ).catch(() => undefined);
    const stray = (await sandboxProcesses(sb.dir)).filter((p) => p !== show.pid);
    // The parent's ssh master is the one other process a running VM has.
    assert.ok(stray.length <= 1, `stray processes: ${stray.join(' ')}`);
  });
});
