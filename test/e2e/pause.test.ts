import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { sshControlPath } from '../../src/config/layout.js';
import type { Sandbox } from '../helpers/sandbox.js';
import { assertNoVmLeft, err, ok, out, vmShow, vmSandbox } from '../helpers/vm.js';

const BOOT = { timeoutMs: 600_000 };

// vm pause / vm resume on a real VM: the vCPUs stop, the guest's processes and the ssh
// master survive, and commands meanwhile are refused at once instead of hanging.
describe('vm pause and resume', () => {
  let sb: Sandbox;
  before(async () => {
    sb = await vmSandbox();
  });
  after(() => sb?.dispose());

  test('pause → refused at once, listed paused; resume → the same processes go on', async () => {
    ok(await sb.cli(['vm', 'create', '--name', 'still', '--memory', '1G'], BOOT));
    // A guest process that counts: paused, it cannot count; resumed, it goes on counting.
    ok(
      await sb.cli([
        ...['vm', 'ssh', 'still', '--', 'sh', '-c'],
        'nohup sh -c "i=0; while :; do i=\\$((i+1)); echo \\$i > /root/count; sleep 0.2; done" >/dev/null 2>&1 &',
      ]),
    );
    const pid = (await vmShow(sb, 'still')).pid;
    assert.equal(out(ok(await sb.cli(['vm', 'pause', 'still']))), 'still paused');
    assert.match(out(await sb.cli(['vm', 'ls'])), /^still\s+paused\s/m);
    assert.equal((await vmShow(sb, 'still')).state, 'paused');

    const refused = await sb.cli(['vm', 'ssh', 'still', '--', 'true'], { timeoutMs: 20_000 });
    assert.equal(refused.exitCode, 1);
    assert.match(err(refused), /vm "still" is paused: "banger vm ssh" needs it running/);
    assert.match(err(refused), /resume it first: banger vm resume still/);
    const again = await sb.cli(['vm', 'pause', 'still']);
    assert.match(err(again), /vm "still" is paused: "banger vm pause" needs it running/);

    // The master connection is still there (its socket), and the same QEMU process.
    await stat(sshControlPath(sb.layout, String((await vmShow(sb, 'still')).id)));
    assert.equal(out(ok(await sb.cli(['vm', 'resume', 'still']))), 'still resumed');
    assert.equal((await vmShow(sb, 'still')).pid, pid);
    const count = async () =>
      Number(out(ok(await sb.cli(['vm', 'ssh', 'still', '--', 'cat', '/root/count']))));
    const first = await count();
    assert.ok(first > 0, 'the guest process counted before the pause');
    await new Promise((r) => setTimeout(r, 1500));
    assert.ok((await count()) > first, 'the guest process counts on after resume');
    const notPaused = await sb.cli(['vm', 'resume', 'still']);
    assert.match(err(notPaused), /vm "still" is running: "banger vm resume" needs it paused/);
    assert.match(err(notPaused), /pause it first: banger vm pause still/);
  });

  test('a paused VM stops cleanly, and is deleted', async () => {
    ok(await sb.cli(['vm', 'pause', 'still']));
    assert.equal(out(ok(await sb.cli(['vm', 'stop', 'still'], BOOT))), 'still stopped');
    ok(await sb.cli(['vm', 'rm', 'still']));
    await assertNoVmLeft(sb);
  });
});
