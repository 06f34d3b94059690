import assert from 'node:assert/strict';
import { stat, utimes } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { vmFiles } from '../../src/config/layout.js';
import { killHard, waitFor, type Sandbox } from '../helpers/sandbox.js';
import { err, ok, out, vmShow, vmSandbox } from '../helpers/vm.js';

const LONG = { timeoutMs: 600_000 };
const exists = (p: string) =>
  stat(p).then(
    () => true,
    () => false,
  );

// vm stop --save / vm start on a real VM: the guest's processes are where they were, across a
// daemon restart; a saved state that no longer fits is refused, and --cold boots instead.
describe('vm stop --save and vm start', () => {
  let sb: Sandbox;
  let dir: string;
  const sh = async (script: string) =>
    out(ok(await sb.cli(['vm', 'ssh', 'keep', '--', 'sh', '-c', script]))).trim();

  before(async () => {
    sb = await vmSandbox();
    ok(await sb.cli(['vm', 'create', '--name', 'keep', '--memory', '1G'], LONG));
    dir = String((await vmShow(sb, 'keep')).dir);
  });
  after(() => sb?.dispose());

  test('a process and a session run on after a save, a daemon restart and a start', async () => {
    const pid = await sh(
      'nohup sh -c "while :; do date +%s > /root/tick; sleep 0.2; done" >/dev/null 2>&1 & echo $!',
    );
    ok(await sb.cli(['vm', 'session', 'start', 'keep', 'sess', '--', 'sleep', '100000']));
    ok(await sb.cli(['vm', 'ssh', 'keep', '--', 'sh', '-c', 'echo before > /root/note; sync']));

    const saved = ok(await sb.cli(['vm', 'stop', '--save', 'keep'], LONG));
    assert.match(out(saved), /^keep suspended \(\d+(\.\d+)?[KMG] saved\)$/m);
    assert.match(out(await sb.cli(['vm', 'ls'])), /^keep\s+suspended\s/m);
    assert.equal((await vmShow(sb, 'keep')).pid, undefined, 'no VM process while suspended');
    const set = await sb.cli(['vm', 'set', 'keep', '--vcpu', '1']);
    assert.match(
      err(set),
      /vm "keep" is suspended \(its memory is saved\): "banger vm set" needs it stopped/,
    );
    assert.match(err(set), /banger vm start keep --cold/);

    ok(await sb.cli(['daemon', 'stop']));
    assert.match(out(await sb.cli(['vm', 'ls'])), /^keep\s+suspended\s/m);
    const started = ok(await sb.cli(['vm', 'start', 'keep'], LONG));
    assert.equal(out(started).trim(), 'keep running');
    assert.match(err(started), /resume: from its saved state/);
    assert.equal(await sh(`kill -0 ${pid} && echo alive`), 'alive', 'the same process runs on');
    assert.ok(
      Math.abs(Number(await sh('date +%s')) - Date.now() / 1000) < 2,
      'the clock is set to now',
    );
    const sessions = out(ok(await sb.cli(['vm', 'session', 'list', 'keep'])));
    assert.match(sessions, /^sess\s+running\s/m);
    assert.equal(await sh('cat /root/note'), 'before');
    assert.equal(await exists(vmFiles(dir).savedState), false, 'the saved state goes once it runs');
  });

  test('a saved state whose disk changed is refused; --cold boots from the disks', async () => {
    ok(await sb.cli(['vm', 'suspend', 'keep'], LONG));
    const now = new Date();
    await utimes(vmFiles(dir).workDisk, now, now);
    const refused = await sb.cli(['vm', 'start', 'keep'], LONG);
    assert.equal(refused.exitCode, 1);
    assert.match(
      err(refused),
      /vm "keep" has a saved state banger will not resume: its work disk changed since it was saved/,
    );
    assert.match(err(refused), /banger vm start keep --cold/);
    assert.match(out(await sb.cli(['vm', 'ls'])), /^keep\s+suspended\s/m, 'still suspended');
    ok(await sb.cli(['vm', 'start', '--cold', 'keep'], LONG));
    assert.equal(await sh('cat /root/note'), 'before');
    assert.equal(
      await sh('pgrep -c -f "date +%s" || true'),
      '0',
      'a cold boot runs nothing of before',
    );
  });

  test('kill -9 of the daemon during a save: the VM runs on, or is suspended whole; no partial file', async () => {
    const partial = `${vmFiles(dir).savedState}.partial`;
    const save = sb.spawn(['vm', 'stop', '--save', 'keep']);
    await waitFor('the save to start', () => exists(partial), 60_000);
    const daemon = await sb.daemonPid();
    assert.ok(daemon);
    killHard(daemon);
    await save.child.catch(() => undefined);
    // The next daemon finds the VM (paused by the save, or killed after it) and cleans up.
    const ls = out(ok(await sb.cli(['vm', 'ls'])));
    assert.equal(await exists(partial), false);
    if (/^keep\s+running\s/m.test(ls)) {
      assert.equal(await sh('echo on'), 'on', 'the VM runs on');
    } else {
      // The dead daemon had finished the save: the VM is suspended and resumes.
      assert.match(ls, /^keep\s+(suspended|stopped)\s/m);
      ok(await sb.cli(['vm', 'start', 'keep'], LONG));
      assert.equal(await sh('echo on'), 'on');
    }
    ok(await sb.cli(['vm', 'rm', 'keep']));
  });
});
