import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { daemonPids, makeSandbox, type Sandbox } from '../helpers/sandbox.js';

// Usage errors are decided by the CLI alone: exit 2, one "banger:" line naming the flag,
// and no daemon started for them.
describe('usage errors', () => {
  let sb: Sandbox;
  before(async () => {
    sb = await makeSandbox();
  });
  after(async () => {
    await sb.dispose();
  });

  const cases: [string[], RegExp][] = [
    [['vm', 'create', '--memory', 'lots'], /--memory: invalid size "lots"/],
    [['vm', 'create', '--disk-size', '0'], /--disk-size: /],
    [['vm', 'create', '--vcpu', '0'], /--vcpu: "0" is not a whole number of at least 1/],
    [['vm', 'create', '--name', 'Not_A_Label'], /--name: "Not_A_Label" is not a valid VM name/],
    [['vm', 'run', '--branch', 'fix'], /--branch/],
    [['vm', 'run', '--'], /nothing after --/],
    [['vm', 'ssh', 'box', 'uname'], /unexpected argument "uname": put the guest command after --/],
    [['vm', 'set', 'box'], /.+/],
    [
      ['image', 'register', 'x', '--rootfs', 'r.ext4', '--kernel-ref', 'k', '--kernel', 'vmlinux'],
      /--kernel-ref/,
    ],
    [['image', 'register', 'x', '--rootfs', 'r.ext4'], /--kernel/],
    [['image', 'build', '--size', '1.5'], /--size/],
    [['vm', 'session', 'start', 'box', 'Bad Name', '--', 'sleep', '1'], /not a valid session name/],
  ];
  for (const [args, message] of cases) {
    test(`banger ${args.join(' ')}`, async () => {
      const r = await sb.cli(args);
      assert.equal(r.exitCode, 2, `stdout: ${String(r.stdout)} stderr: ${String(r.stderr)}`);
      const stderr = String(r.stderr);
      assert.match(stderr, /^banger: /);
      assert.match(stderr, message);
      assert.doesNotMatch(stderr, /not implemented/);
    });
  }

  test('no usage error started a daemon', async () => {
    assert.deepEqual(await daemonPids(sb.dir), []);
  });

  test('valid flags reach the command (here: the daemon answers that the VM does not exist)', async () => {
    for (const args of [
      ['vm', 'session', 'start', 'box', 'build', '--', 'make', '-j4'],
      ['vm', 'session', 'list', 'box', '--json'],
      ['vm', 'session', 'send', 'box', 'build', 'q', '--enter'],
      ['vm', 'ssh', 'box', '--', 'uname', '-a'],
      ['vm', 'workspace', 'export', 'box', '--name-only'],
    ]) {
      const r = await sb.cli(args);
      assert.equal(r.exitCode, 1, `${args.join(' ')}: ${String(r.stderr)}`);
      assert.match(String(r.stderr), /^banger: vm "box" not found/);
    }
  });
});
