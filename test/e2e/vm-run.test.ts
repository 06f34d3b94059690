import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { execa } from 'execa';
import { CLI, sandboxProcesses, waitFor, type Sandbox } from '../helpers/sandbox.js';
import { assertNoVmLeft, err, ok, out, vmSandbox } from '../helpers/vm.js';

// `banger vm run` on real VMs (QEMU microvm, TCG here), through the real CLI.
describe('banger vm run', () => {
  let sb: Sandbox;
  before(async () => {
    sb = await vmSandbox();
  });
  after(() => sb?.dispose());

  test('--rm -- cmd: both streams, the exit code, and nothing left behind', async () => {
    const r = await sb.cli(
      ['vm', 'run', '--rm', '--', 'sh', '-c', 'uname -r; echo out; echo err >&2; exit 7'],
      { timeoutMs: 600_000 },
    );
    assert.equal(r.exitCode, 7, err(r));
    assert.match(out(r), /^\d+\.\d+\.\d+-\d+-cloud-amd64\nout$/);
    assert.match(err(r), /^spec: \d+ vcpu · \d+ MiB · \d+G disk · qemu\/(tcg|kvm)$/m);
    assert.match(err(r), /^err$/m);
    for (const stage of ['resolve image', 'disks', 'boot', 'wait for ssh'])
      assert.match(err(r), new RegExp(`\\] ${stage}: `), stage);
    assert.doesNotMatch(err(r), /still running/);
    assert.match(out(await sb.cli(['vm', 'ls'])), /no VMs yet/);
    await assertNoVmLeft(sb);
  });

  test('arguments reach the guest exactly as typed; exit 0 is exit 0', async () => {
    const r = await sb.cli(
      [
        'vm',
        'run',
        '--rm',
        '--name',
        'quoting',
        '--',
        'printf',
        '[%s]\\n',
        "it's",
        'a b',
        '$HOME',
        '*',
      ],
      { timeoutMs: 600_000 },
    );
    ok(r, 'vm run');
    assert.equal(out(r), "[it's]\n[a b]\n[$HOME]\n[*]");
    await assertNoVmLeft(sb);
  });

  test('bare vm run: a shell (here reading stdin), then the reminder; with --rm, no VM left', async () => {
    const kept = await sb.cli(['vm', 'run', '--name', 'bare'], {
      input: 'echo inside $(hostname) $PWD\n',
      timeoutMs: 600_000,
    });
    ok(kept, 'vm run');
    assert.match(out(kept), /^inside bare \/root$/m);
    assert.match(
      err(kept),
      /vm bare is still running: stop it with "banger vm stop bare", delete it with "banger vm rm bare"/,
    );
    assert.match(out(await sb.cli(['vm', 'ls'])), /^bare\s+running\s/m);
    ok(await sb.cli(['vm', 'rm', 'bare']));
    const gone = await sb.cli(['vm', 'run', '--rm', '--name', 'bare2'], {
      input: 'exit 4\n',
      timeoutMs: 600_000,
    });
    assert.equal(gone.exitCode, 4, err(gone));
    assert.doesNotMatch(err(gone), /still running/);
    await assertNoVmLeft(sb);
  });

  test('a command killed by a signal exits 128+N; without --rm the VM is kept, with a reminder', async () => {
    const killed = await sb.cli(['vm', 'run', '--name', 'sig', '--', 'sh', '-c', 'kill -9 $$'], {
      timeoutMs: 600_000,
    });
    assert.equal(killed.exitCode, 137, err(killed));
    assert.match(
      err(killed),
      /vm sig is still running: stop it with "banger vm stop sig", delete it with "banger vm rm sig"/,
    );
    // After vm ssh, never a reminder.
    const ssh = await sb.cli(['vm', 'ssh', 'sig', '--', 'true']);
    ok(ssh, 'vm ssh');
    assert.doesNotMatch(err(ssh), /still running/);
    ok(await sb.cli(['vm', 'rm', 'sig']));
    await assertNoVmLeft(sb);
  });

  test('Ctrl-C in a terminal during --rm -- cmd: exit 130, and the VM is still deleted', async () => {
    // script(1) gives the CLI a terminal; ^C typed there reaches the guest's command as SIGINT.
    const line = [process.execPath, CLI, 'vm', 'run', '--rm', '--name', 'tty', '--']
      .concat(['sh', '-c', "'echo started; sleep 300'"])
      .join(' ');
    const child = execa('script', ['-qfec', line, '/dev/null'], {
      env: sb.env,
      extendEnv: false,
      reject: false,
      timeout: 600_000,
    });
    let output = '';
    child.stdout?.on('data', (d: Buffer) => (output += String(d)));
    await waitFor('the command to start in the guest', () => output.includes('started'), 240_000);
    child.stdin?.write('\x03');
    const r = await child;
    assert.equal(r.exitCode, 130, output);
    assert.match(out(await sb.cli(['vm', 'ls'])), /no VMs yet/);
    await assertNoVmLeft(sb);
  });

  test('ssh never ready: the actionable error, and the VM is kept even with --rm', async () => {
    const r = await sb.cli(
      ['vm', 'run', '--rm', '--name', 'slow', '--ssh-wait-seconds', '0.5', '--', 'true'],
      { timeoutMs: 600_000 },
    );
    assert.equal(r.exitCode, 1);
    assert.match(
      err(r),
      /banger: vm "slow" booted but ssh did not come up within 500ms: sshd in the guest is the likely suspect\. The VM is still running for inspection/,
    );
    assert.match(
      err(r),
      /"banger vm logs slow" shows its console; "banger vm delete slow" removes it/,
    );
    assert.match(out(await sb.cli(['vm', 'ls'])), /^slow\s+running\s/m);
    // The console shows the boot, and the guest does come up in the end.
    await waitFor(
      'the slow VM to finish booting',
      async () => out(await sb.cli(['vm', 'logs', 'slow'])).includes('banger-guest: sshd ready'),
      120_000,
    );
    ok(await sb.cli(['vm', 'ssh', 'slow', '--', 'true']), 'vm ssh slow');
    ok(await sb.cli(['vm', 'rm', 'slow']), 'vm rm');
    await assertNoVmLeft(sb);
  });

  test('Ctrl-C while it boots: the error as-is, no hint, and the VM is removed', async () => {
    const { child, stderr } = sb.spawn([
      'vm',
      'run',
      '--rm',
      '--name',
      'interrupted',
      '--',
      'true',
    ]);
    await waitFor('the boot stage', () => stderr().includes('] boot: '), 120_000);
    child.kill('SIGINT');
    const r = await child;
    assert.notEqual(r.exitCode, 0);
    assert.doesNotMatch(stderr(), /likely suspect/);
    await waitFor(
      'the interrupted create to be undone',
      async () => {
        const ls = out(await sb.cli(['vm', 'ls']));
        return ls.includes('no VMs yet') && (await sandboxProcesses(sb.dir)).length === 0;
      },
      60_000,
    );
    await assertNoVmLeft(sb);
  });

  test('bad names and sizes are refused before anything is made', async () => {
    const cases: [string[], number, RegExp][] = [
      [['--name', 'Bad_Name'], 2, /--name: "Bad_Name" is not a valid VM name/],
      [['--memory', 'lots'], 2, /--memory: /],
      [['--disk-size', '0'], 2, /--disk-size: a size of zero is not allowed/],
      [['--vcpu', '0'], 2, /--vcpu: "0" is not a whole number of at least 1/],
      [['--disk-size', '1M'], 2, /--disk-size 1M is below the 64M minimum/],
      [['--memory', '64M'], 2, /--memory 64 MiB is below the 256 MiB minimum/],
      [['--image', 'no-such-image'], 1, /image "no-such-image"/],
    ];
    for (const [flags, code, message] of cases) {
      const r = await sb.cli(['vm', 'run', '--rm', ...flags, '--', 'true']);
      assert.equal(r.exitCode, code, `${flags.join(' ')}: ${err(r)}`);
      assert.match(err(r), message, flags.join(' '));
    }
    await assertNoVmLeft(sb);
  });
});
