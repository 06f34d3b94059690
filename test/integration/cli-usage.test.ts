import assert from 'node:assert/strict';
import type { Command } from 'commander';
import { after, before, describe, test } from 'node:test';
import { EMBEDDED_IMAGES, EMBEDDED_KERNELS } from '../../src/catalog/embedded.js';
import { buildProgram } from '../../src/cli/program.js';
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

  // [args, the whole "banger: ..." line, the hint line under it (undefined: none)]
  const LABEL =
    'use lowercase letters, digits and hyphens (at most 63, no leading or trailing hyphen)';
  const REGISTER =
    'e.g. banger image register my-distro --rootfs ./rootfs.ext4 --kernel-ref debian-bookworm-cloud';
  const cases: [string[], string, string | undefined][] = [
    [
      ['vm', 'create', '--memory', 'lots'],
      '--memory: invalid size "lots": use a number with an optional unit K, M, G or T, e.g. 512M or 8G',
      'e.g. --memory 2G',
    ],
    [
      ['vm', 'create', '--memory', '255'],
      '--memory 255 MiB is below the 256 MiB minimum',
      'e.g. --memory 2G',
    ],
    [
      ['vm', 'run', '--disk-size', '63M'],
      '--disk-size 63M is below the 64M minimum',
      'e.g. --disk-size 20G',
    ],
    [
      ['vm', 'create', '--disk-size', '0'],
      '--disk-size: a size of zero is not allowed',
      'e.g. --disk-size 20G',
    ],
    [
      ['vm', 'create', '--vcpu', '0'],
      '--vcpu: "0" is not a whole number of at least 1',
      'e.g. --vcpu 2',
    ],
    [['vm', 'run', '--vcpu', '65'], '--vcpu 65 is out of range: use 1 to 64', 'e.g. --vcpu 2'],
    [
      ['vm', 'set', 'box', '--memory', '128M'],
      '--memory 128 MiB is below the 256 MiB minimum',
      'e.g. --memory 2G',
    ],
    [
      ['vm', 'create', '--name', 'Not_A_Label'],
      `--name: "Not_A_Label" is not a valid VM name: ${LABEL}`,
      undefined,
    ],
    [
      ['vm', 'run', '--branch', 'fix'],
      '--branch and --from need a repository PATH',
      'e.g. banger vm run ./repo --branch fix-tests -- make test',
    ],
    [
      ['vm', 'run', '--'],
      'nothing after --: give the command to run',
      'e.g. banger vm run ./repo -- make test',
    ],
    [
      ['vm', 'ssh', 'box', 'uname'],
      'unexpected argument "uname": put the guest command after --',
      'e.g. banger vm ssh blue-fox -- uname -a',
    ],
    [
      ['vm', 'set', 'box'],
      'nothing to change: give --vcpu, --memory, --disk-size or --egress',
      'e.g. banger vm set box --memory 4G',
    ],
    [
      ['image', 'register', 'x', '--rootfs', 'r.ext4', '--kernel-ref', 'k', '--kernel', 'vmlinux'],
      '--kernel-ref cannot be combined with --kernel: name a kernel one way',
      REGISTER,
    ],
    [
      ['image', 'register', 'x', '--rootfs', 'r.ext4'],
      'a kernel is needed: give --kernel-ref NAME or --kernel FILE',
      REGISTER,
    ],
    [
      ['image', 'build', '--size', '1.5'],
      '--size: invalid size "1.5": not a whole number of bytes',
      'e.g. --size 4G',
    ],
    [
      ['vm', 'session', 'start', 'box', 'Bad Name', '--', 'sleep', '1'],
      `"Bad Name" is not a valid session name: ${LABEL}`,
      undefined,
    ],
    [
      ['vm', 'create', '--publish', 'localhost:3000'],
      '--publish "localhost:3000": expected [HOST:]GUEST, two port numbers',
      'e.g. --publish 3000 (127.0.0.1:3000), --publish 8080:3000, --publish 0:3000 (any free port)',
    ],
    [
      ['vm', 'run', '--publish', '3000', '--publish', '8080:3000'],
      '--publish: guest port 3000 is given twice',
      'publish each guest port once',
    ],
    [
      ['vm', 'port', 'add', 'box', '3000', '--host', '70000'],
      '--host: "70000" is not a port (0 for any free one, or 1 to 65535)',
      'e.g. --host 8080',
    ],
  ];
  for (const [args, message, hint] of cases) {
    test(`banger ${args.join(' ')}`, async () => {
      const r = await sb.cli(args);
      assert.equal(r.exitCode, 2, `stdout: ${String(r.stdout)} stderr: ${String(r.stderr)}`);
      const lines = String(r.stderr).trimEnd().split('\n');
      assert.deepEqual(lines, [`banger: ${message}`, ...(hint ? [`  ${hint}`] : [])]);
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
      ['vm', 'ports', 'box', '--json'],
      ['vm', 'port', 'add', 'box', '3000', '--host', '0'],
      ['vm', 'port', 'rm', 'box', '3000'],
    ]) {
      const r = await sb.cli(args);
      assert.equal(r.exitCode, 1, `${args.join(' ')}: ${String(r.stderr)}`);
      assert.match(String(r.stderr), /^banger: vm "box" not found/);
    }
  });
});

/** Every command's full --help, with the text added after it (examples), keyed by its path. */
function allHelp(cmd: Command, path: string[] = []): Map<string, string> {
  let text = '';
  cmd.configureOutput({ writeOut: (s) => (text += s) });
  cmd.outputHelp();
  const all = new Map([[path.join(' '), text]]);
  for (const sub of cmd.commands)
    for (const entry of allHelp(sub, [...path, sub.name()])) all.set(...entry);
  return all;
}

// A help example must work as printed: a kernel or image it names is in the embedded catalog,
// made by another example (import, build, register, promote), a NAME placeholder, or one its
// comment says comes from the user's own [catalog] files. A registry reference (it has a
// registry, tag or digest) names an image in that registry, not one banger must have.
test('help examples name only kernels and images that exist', () => {
  const examples = [...allHelp(buildProgram()).values()]
    .flatMap((text) => text.split('\n'))
    .filter((line) => line.startsWith('  $ '));
  assert.ok(examples.length > 40, `only ${examples.length} examples found`);
  const made = new Set(
    [...EMBEDDED_IMAGES.entries, ...EMBEDDED_KERNELS.entries].map((e) => e.name),
  );
  const makes =
    /banger (?:kernel import|image build|image register|image promote \S+) ([a-z0-9][\w.-]*)/;
  for (const line of examples) made.add(makes.exec(line)?.[1] ?? '');
  const uses =
    /banger (?:kernel (?:show|pull|rm)|image (?:pull|show|export|rm|delete)) (\S+)|--kernel-ref (\S+)|--image (\S+)/g;
  const unknown = examples
    .filter((line) => !/#.*\[catalog\]/.test(line))
    .flatMap((line) =>
      [...line.replace(/#.*/, '').matchAll(uses)]
        .map((m) => m[1] ?? m[2] ?? m[3] ?? '')
        .filter((name) => !made.has(name) && !/^[A-Z]+$/.test(name) && !/[/:@]/.test(name))
        .map((name) => `${name} in: ${line.trim()}`),
    );
  assert.deepEqual(unknown, []);
});
