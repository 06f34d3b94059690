import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SubprocessError } from '../errors.js';
import { formatCommand, realRunner } from './runner.js';

test('a failed program is reported with its command line and stderr tail', async () => {
  const err = await realRunner
    .run('sh', ['-c', 'for i in $(seq 1 30); do echo "line $i" >&2; done; exit 4'])
    .catch((e: unknown) => e);
  assert.ok(err instanceof SubprocessError);
  assert.equal(err.exitCode, 4);
  assert.match(err.message, /^sh -c 'for i in .*' exited 4: line 19\n/);
  assert.ok(err.message.endsWith('line 30'));
  assert.doesNotMatch(err.message, /line 18\n/);
});

test('a missing program, a timeout and allowFailure', async () => {
  await assert.rejects(
    realRunner.run('banger-no-such-program', []),
    /banger-no-such-program .*ENOENT/,
  );
  await assert.rejects(
    realRunner.run('sleep', ['5'], { timeoutMs: 100 }),
    /timed out after 100 ms/,
  );
  const r = await realRunner.run('sh', ['-c', 'echo out; exit 3'], { allowFailure: true });
  assert.deepEqual([r.exitCode, r.stdout], [3, 'out\n']);
  const input = await realRunner.run('cat', [], { input: 'piped' });
  assert.equal(input.stdout, 'piped');
});

test('formatCommand quotes only what a shell would need quoted', () => {
  assert.equal(
    formatCommand('apt-get', ['install', '-y', 'qemu-utils']),
    'apt-get install -y qemu-utils',
  );
  assert.equal(formatCommand('sh', ['-c', "echo 'a b'"]), `sh -c 'echo '\\''a b'\\'''`);
});

test('stream pipes data through a program and reports its failure', async () => {
  const child = realRunner.stream('tr', ['a-z', 'A-Z']);
  const chunks: Buffer[] = [];
  child.stdout.on('data', (c: Buffer) => chunks.push(c));
  child.stdin.end('hello streams');
  await child.done;
  assert.equal(Buffer.concat(chunks).toString(), 'HELLO STREAMS');

  const bad = realRunner.stream('sh', ['-c', 'echo broken >&2; exit 5']);
  bad.stdout.resume();
  bad.stdin.end();
  await assert.rejects(
    bad.done,
    (err: unknown) =>
      err instanceof SubprocessError && err.exitCode === 5 && /broken/.test(err.message),
  );
});

test('a stream stopped by its signal has no exit status, even one that exits on SIGTERM', async () => {
  // Like ssh, which exits 255 when terminated: the status is ours, not its failure.
  const controller = new AbortController();
  const child = realRunner.stream(
    'sh',
    ['-c', 'trap "exit 255" TERM; echo up; while :; do sleep 0.05; done'],
    { signal: controller.signal },
  );
  child.stdin.end();
  await new Promise((resolve) => child.stdout.once('data', resolve));
  child.stdout.resume();
  controller.abort();
  await assert.rejects(
    child.done,
    (err: unknown) =>
      err instanceof SubprocessError &&
      err.exitCode === undefined &&
      /was killed: was cancelled/.test(err.message),
  );
});
