import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { alive, killHard, waitFor, type Sandbox } from '../helpers/sandbox.js';
import { assertNoVmLeft, err, ok, out, vmSandbox } from '../helpers/vm.js';

const BOOT = { timeoutMs: 600_000 };
/** logs.session_max in this file's config. */
const BOUND = 128 * 1024;

interface Session {
  name: string;
  state: string;
  exitCode?: number;
  command: string;
  startedAt?: string;
  endedAt?: string;
}

// Sessions on a real VM (tmux in the guest), through the real CLI.
describe('vm session', () => {
  let sb: Sandbox;
  const sessions = async (): Promise<Session[]> =>
    JSON.parse(out(ok(await sb.cli(['vm', 'session', 'ls', 'box', '--json'])))) as Session[];
  const logs = async (name: string) =>
    out(ok(await sb.cli(['vm', 'session', 'logs', 'box', name])));
  /** `vm session start box NAME -- COMMAND…`, which must succeed. */
  const start = async (name: string, ...command: string[]) =>
    ok(await sb.cli(['vm', 'session', 'start', 'box', name, '--', ...command]));
  before(async () => {
    // A small bound, so that one test can flood past it quickly.
    sb = await vmSandbox({ config: `[logs]\nsession_max = "${BOUND / 1024}K"\n` });
    ok(await sb.cli(['vm', 'create', '--name', 'box'], BOOT));
  });
  after(() => sb?.dispose());

  test('start → logs → send input it echoes → it exits → show reports the exit code', async () => {
    const script = 'echo ready; read line; echo "got: $line"; exit 3';
    const started = await start('echoer', 'sh', '-c', script);
    assert.match(out(started), /echoer started in box/);
    await waitFor('the first output', async () => (await logs('echoer')).includes('ready'), 30_000);
    assert.deepEqual(
      (await sessions()).map((s) => [s.name, s.state, s.command]),
      [['echoer', 'running', `sh -c ${script}`]],
    );
    ok(await sb.cli(['vm', 'session', 'send', 'box', 'echoer', 'hello there', '--enter']));
    await waitFor(
      'the echo',
      async () => (await logs('echoer')).includes('got: hello there'),
      30_000,
    );
    await waitFor('the exit', async () => (await sessions())[0]?.state === 'exited', 30_000);
    const shown = out(ok(await sb.cli(['vm', 'session', 'show', 'box', 'echoer'])));
    assert.match(shown, /^state\s+exited$/m);
    assert.match(shown, /^exit code\s+3$/m);
    assert.match(shown, /^ended\s+\d{4}-\d\d-\d\dT/m);
    const gone = await sb.cli(['vm', 'session', 'send', 'box', 'echoer', 'late']);
    assert.equal(gone.exitCode, 1);
    assert.match(err(gone), /session "echoer" in vm "box" is not running/);
  });

  test('logs -f follows until the session exits', async () => {
    await start('ticker', 'sh', '-c', 'for i in 1 2 3; do echo tick $i; sleep 1; done');
    const followed = ok(
      await sb.cli(['vm', 'session', 'logs', '-f', 'box', 'ticker'], { timeoutMs: 60_000 }),
    );
    // Raw terminal output, as the pane's pty wrote it.
    assert.equal(out(followed).replaceAll('\r\n', '\n'), 'tick 1\ntick 2\ntick 3');
  });

  test('stop interrupts (exit 130); a process that ignores it is terminated; kill', async () => {
    await start('sleeper', 'sleep', '1000');
    assert.equal(
      out(ok(await sb.cli(['vm', 'session', 'stop', 'box', 'sleeper']))),
      'sleeper stopped (exit 130)',
    );
    await start('stubborn', 'sh', '-c', 'trap "" INT; sleep 1000');
    assert.equal(
      out(ok(await sb.cli(['vm', 'session', 'stop', 'box', 'stubborn'], { timeoutMs: 90_000 }))),
      'stubborn stopped (exit 143)',
    );
    await start('victim', 'sleep', '1000');
    assert.equal(
      out(ok(await sb.cli(['vm', 'session', 'kill', 'box', 'victim']))),
      'victim killed (exit 137)',
    );
  });

  test('a session survives a kill -9 of the daemon', async () => {
    await start('durable', 'sh', '-c', 'while true; do date +%s; sleep 1; done');
    const daemon = await sb.daemonPid();
    assert.ok(daemon);
    killHard(daemon);
    await waitFor('the daemon to die', () => !alive(daemon));
    const durable = (await sessions()).find((s) => s.name === 'durable');
    assert.equal(durable?.state, 'running');
    const before = (await logs('durable')).split('\n').length;
    await waitFor(
      'more output',
      async () => (await logs('durable')).split('\n').length > before,
      30_000,
    );
  });

  test('a flooding session keeps only its newest output, within logs.session_max', async () => {
    // ~1.3 MB of numbered lines: ten times the bound.
    await start('flood', 'sh', '-c', 'seq 1 200000; echo flood done');
    await waitFor(
      'the flood to end',
      async () => (await sessions()).find((s) => s.name === 'flood')?.state === 'exited',
      120_000,
    );
    const kept = (await logs('flood')).replaceAll('\r\n', '\n');
    assert.ok(kept.length <= BOUND, `${kept.length} bytes of logs`);
    assert.ok(kept.length >= BOUND / 2 - 4096, `only ${kept.length} bytes of logs`);
    const lines = kept.split('\n');
    assert.equal(lines.at(-1), 'flood done');
    // Whole lines from the cut on, none lost or doubled: the numbers count up to 200000.
    const numbers = lines.slice(1, -1).map(Number);
    assert.equal(numbers.at(-1), 200000);
    numbers.forEach((n, i) => assert.equal(n, numbers[0]! + i));
    const count = 'cat /root/.banger/sessions/flood/output.log* | wc -c';
    const onDisk = out(ok(await sb.cli(['vm', 'ssh', 'box', '--', 'sh', '-c', count])));
    assert.ok(Number(onDisk) <= BOUND, `${onDisk} bytes in the guest`);
  });

  test("completion offers the VM's session names", async () => {
    // Completion gives up after 2 s (a prompt must not hang); a loaded emulated guest can
    // miss that once, so it is asked until it answers.
    const offered = async () => {
      const r = ok(await sb.cli(['complete', '--', 'vm', 'session', 'logs', 'box', '']));
      return out(r)
        .split('\n')
        .map((l) => l.split('\t')[0]);
    };
    await waitFor(
      'the session names',
      async () => {
        const names = await offered();
        return ['echoer', 'ticker', 'durable', 'flood'].every((n) => names.includes(n));
      },
      60_000,
    );
  });

  test('bad names and unknown sessions are clear errors; the name is reusable once it exited', async () => {
    const bad = await sb.cli(['vm', 'session', 'start', 'box', 'Bad Name', '--', 'true']);
    assert.equal(bad.exitCode, 2);
    const none = await sb.cli(['vm', 'session', 'show', 'box', 'nope']);
    assert.equal(none.exitCode, 1);
    assert.match(err(none), /no session "nope" in vm "box"/);
    const taken = await sb.cli(['vm', 'session', 'start', 'box', 'durable', '--', 'true']);
    assert.equal(taken.exitCode, 1);
    assert.match(err(taken), /session "durable" is running already/);
    await start('echoer', 'echo', 'again');
    ok(await sb.cli(['vm', 'rm', 'box']));
    await assertNoVmLeft(sb);
  });
});
