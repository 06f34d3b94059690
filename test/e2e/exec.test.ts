import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Sandbox } from '../helpers/sandbox.js';
import { err, ok, out, vmSandbox } from '../helpers/vm.js';

const LONG = { timeoutMs: 600_000 };

// vm exec on a real VM: a command as data — its exit code, stdin, cwd and env, a timeout that
// stops the command and not the VM, and --json for programs.
describe('vm exec', () => {
  let sb: Sandbox;
  before(async () => {
    sb = await vmSandbox();
    ok(await sb.cli(['vm', 'create', '--name', 'box'], LONG));
  });
  after(() => sb?.dispose());

  test('exit code, stdin, stdout and stderr apart, --cwd and --env', async () => {
    const r = await sb.cli(
      [
        ...['vm', 'exec', 'box', '--cwd', '/etc', '--env', 'GREETING=hi there', '--'],
        ...['sh', '-c', 'echo "$GREETING from $(pwd)"; tr a-z A-Z; echo oops >&2; exit 7'],
      ],
      { input: 'piped in\n' },
    );
    assert.equal(r.exitCode, 7);
    assert.equal(out(r), 'hi there from /etc\nPIPED IN');
    assert.equal(err(r), 'oops');
    // A signal's exit code, as a shell says it.
    const killed = await sb.cli(['vm', 'exec', 'box', '--', 'sh', '-c', 'kill -9 $$']);
    assert.equal(killed.exitCode, 137);
  });

  test('--json: one object, output capped; --timeout stops the command, not the VM', async () => {
    const r = await sb.cli([
      ...['vm', 'exec', 'box', '--json', '--max-output', '10', '--'],
      ...['sh', '-c', 'echo 0123456789abcdef; echo err >&2; exit 3'],
    ]);
    assert.equal(r.exitCode, 3);
    const j = JSON.parse(out(r)) as Record<string, unknown>;
    assert.deepEqual(
      { ...j, durationMs: typeof j.durationMs },
      {
        exitCode: 3,
        signal: null,
        timedOut: false,
        stdout: '0123456789',
        stderr: 'err\n',
        truncated: true,
        outputCap: 10,
        durationMs: 'number',
      },
    );
    const slow = await sb.cli([
      ...['vm', 'exec', 'box', '--timeout', '1', '--json', '--'],
      ...['sh', '-c', 'sleep 300 & echo $! > /tmp/child; sleep 300'],
    ]);
    assert.equal(slow.exitCode, 124, err(slow));
    const s = JSON.parse(out(slow)) as { exitCode: number; signal: string; timedOut: boolean };
    assert.deepEqual([s.exitCode, s.signal, s.timedOut], [143, 'SIGTERM', true]);
    // The whole process group went, the background child too; the VM runs on.
    const left = out(
      ok(
        await sb.cli([
          'vm',
          'exec',
          'box',
          '--',
          'sh',
          '-c',
          'kill -0 $(cat /tmp/child) 2>&1 || echo gone',
        ]),
      ),
    );
    assert.match(left, /gone/);
  });

  test('bad input: no command, a bad --env, a VM that is not there', async () => {
    const none = await sb.cli(['vm', 'exec', 'box']);
    assert.equal(none.exitCode, 2);
    assert.match(err(none), /give the command after --/);
    const env = await sb.cli(['vm', 'exec', 'box', '--env', 'not valid', '--', 'true']);
    assert.equal(env.exitCode, 2);
    assert.match(err(env), /--env not valid: expected KEY=VALUE/);
    const missing = await sb.cli(['vm', 'exec', 'nope', '--', 'true']);
    assert.notEqual(missing.exitCode, 0);
    assert.match(err(missing), /nope/);
  });
});
