import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
// The package's own exports (dist/, built by npm run build): what a user imports.
import { Banger, BangerError, ErrorCode, type Vm } from 'banger';
import type { Sandbox } from '../helpers/sandbox.js';
import { ok, out, vmSandbox } from '../helpers/vm.js';

// The TypeScript SDK against a real daemon and a real VM: commands streamed with their exit
// codes, an AbortSignal that stops the command, files with binary content and modes,
// sessions, and `await using` deleting the VM.
describe('SDK', () => {
  let sb: Sandbox;
  let banger: Banger;
  let vm: Vm;
  before(async () => {
    sb = await vmSandbox();
    banger = await Banger.connect({ env: sb.env });
    const stages: string[] = [];
    vm = await banger.vms.create({ name: 'sdk-box', onProgress: (stage) => stages.push(stage) });
    assert.equal(vm.detail.state, 'running');
    assert.ok(stages.length > 0, 'progress reported');
  });
  after(async () => {
    banger?.close();
    await sb?.dispose();
  });

  test('exec: output streamed in order, exit codes, stdin, env and cwd', async () => {
    const lines: string[] = [];
    const r = await vm.exec(
      ['sh', '-c', 'for i in 1 2 3; do echo line $i; sleep 0.2; done; exit 4'],
      {
        onStdout: (c) => lines.push(...c.toString().split('\n').filter(Boolean)),
      },
    );
    assert.equal(r.exitCode, 4);
    assert.deepEqual(lines, ['line 1', 'line 2', 'line 3']);
    assert.equal(r.stdout.toString(), 'line 1\nline 2\nline 3\n');
    const piped = await vm.exec('cat; echo "$X in $(pwd)" >&2', {
      stdin: Buffer.from('in\n'),
      env: { X: 'x' },
      cwd: '/tmp',
    });
    assert.deepEqual(
      [piped.exitCode, piped.stdout.toString(), piped.stderr.toString()],
      [0, 'in\n', 'x in /tmp\n'],
    );
  });

  test('exec: an AbortSignal stops the command (its whole group), the VM runs on', async () => {
    const abort = new AbortController();
    const running = vm.exec('sleep 300 & echo $! > /tmp/bg; sleep 300', { signal: abort.signal });
    await new Promise((r) => setTimeout(r, 1500));
    abort.abort();
    const r = await running;
    assert.equal(r.aborted, true);
    assert.equal(r.signal, 'SIGTERM');
    const left = await vm.exec('kill -0 $(cat /tmp/bg) 2>/dev/null && echo alive || echo gone');
    assert.equal(left.stdout.toString().trim(), 'gone');
  });

  test('files: binary content and modes round trip; list; clear errors', async () => {
    const data = randomBytes(256 * 1024);
    await vm.files.write('/root/blob.bin', data);
    await vm.files.write('/root/run.sh', '#!/bin/sh\necho ran\n', { mode: 0o755 });
    assert.ok((await vm.files.read('/root/blob.bin')).equals(data));
    assert.equal((await vm.exec(['/root/run.sh'])).stdout.toString(), 'ran\n');
    const entries = await vm.files.list('/root');
    const blob = entries.find((e) => e.name === 'blob.bin');
    const script = entries.find((e) => e.name === 'run.sh');
    assert.deepEqual([blob?.type, blob?.size, blob?.mode], ['file', data.length, 0o644]);
    assert.deepEqual([script?.type, script?.mode], ['file', 0o755]);
    assert.equal(entries.find((e) => e.name === '.ssh')?.type, 'directory');
    await assert.rejects(vm.files.write('/root', 'x'), /vm sdk-box: \/root: .*Is a directory/);
    assert.equal((await vm.files.list('/root')).length, entries.length, 'nothing left beside it');
    await assert.rejects(vm.files.read('/root/nope'), (e: unknown) => {
      assert.ok(e instanceof BangerError);
      assert.equal(e.code, ErrorCode.NotFound);
      assert.match(e.message, /\/root\/nope/);
      return true;
    });
  });

  test('sessions: start, logs, send, stop', async () => {
    await vm.sessions.start('echoer', [
      'sh',
      '-c',
      'echo started; while read l; do echo "got $l"; done',
    ]);
    await vm.sessions.send('echoer', 'hello');
    let logs = '';
    for (let i = 0; i < 50 && !logs.includes('got hello'); i++) {
      await new Promise((r) => setTimeout(r, 200));
      logs = await vm.sessions.logs('echoer');
    }
    assert.match(logs, /started/);
    assert.match(logs, /got hello/);
    const stopped = await vm.sessions.stop('echoer');
    assert.equal(stopped.name, 'echoer');
  });

  test('await using deletes the VM at the end of the block; a missing VM is NOT_FOUND', async () => {
    {
      await using scratch = await banger.vms.create({ name: 'sdk-scratch' });
      assert.equal((await scratch.exec('hostname')).stdout.toString().trim(), 'sdk-scratch');
    }
    assert.doesNotMatch(out(ok(await sb.cli(['vm', 'ls']))), /sdk-scratch/);
    await assert.rejects(banger.vms.get('sdk-scratch'), (e: unknown) => {
      assert.ok(e instanceof BangerError);
      assert.equal(e.code, ErrorCode.NotFound);
      return true;
    });
    assert.deepEqual(
      (await banger.vms.list()).map((v) => v.name),
      ['sdk-box'],
    );
  });
});
