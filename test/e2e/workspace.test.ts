import assert from 'node:assert/strict';
import { execa } from 'execa';
import { chmod, mkdir, open, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { waitFor, type Sandbox } from '../helpers/sandbox.js';
import { GUEST_FILL, GUEST_UNFILL } from '../helpers/guest-fill.js';
import { smallDisk } from '../helpers/small-disk.js';
import { err, ok, out, vmSandbox } from '../helpers/vm.js';

const BOOT = { timeoutMs: 600_000 };

/** Every file's mode and sha256 below `dir`, .git left out: the same listing host and guest. */
const TREE_SUM =
  "find . -path ./.git -prune -o \\( -type f -o -type l \\) -print0 | LC_ALL=C sort -z | xargs -0 stat -c '%n %a %F' && " +
  'find . -path ./.git -prune -o -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum';
/** What export must not touch in the guest repo. */
const REPO_STATE =
  'cd /root/repo && sha256sum .git/index && git rev-parse HEAD && git status --porcelain=v1 && git stash list';

async function git(cwd: string, ...args: string[]): Promise<string> {
  return (await execa('git', args, { cwd })).stdout;
}

/** A repo with the awkward cases: spaces in names, an executable, a symlink, a binary, an untracked and an ignored file. */
async function fixtureRepo(dir: string): Promise<string> {
  const repo = join(dir, 'fixture repo');
  await mkdir(join(repo, 'sub dir'), { recursive: true });
  await git(repo, 'init', '-q', '-b', 'main');
  await git(repo, 'config', 'user.email', 'host@example.invalid');
  await git(repo, 'config', 'user.name', 'host');
  await writeFile(join(repo, 'file with spaces.txt'), 'one\n');
  await writeFile(join(repo, 'run.sh'), '#!/bin/sh\necho run\n');
  await chmod(join(repo, 'run.sh'), 0o755);
  await symlink('run.sh', join(repo, 'link to run'));
  await writeFile(join(repo, 'sub dir', 'blob.bin'), randomBytes(4096));
  await writeFile(join(repo, '.gitignore'), '*.log\n');
  await git(repo, 'add', '-A');
  await git(repo, 'commit', '-qm', 'first');
  await writeFile(join(repo, 'second.txt'), 'second\n');
  await git(repo, 'add', '-A');
  await git(repo, 'commit', '-qm', 'second');
  // Uncommitted, untracked and ignored, on the host.
  await writeFile(join(repo, 'file with spaces.txt'), 'one\nhost edit\n');
  await writeFile(join(repo, 'untracked on host.txt'), 'untracked\n');
  await writeFile(join(repo, 'build.log'), 'ignored\n');
  return repo;
}

// Workspaces on real VMs: the repo in, the changes out as a patch, and the lock split.
describe('workspaces', () => {
  let sb: Sandbox;
  let repo: string;
  /** A shell script run in the "ws" VM; its stdout (the command must succeed). */
  const guest = async (script: string) =>
    out(ok(await sb.cli(['vm', 'ssh', 'ws', '--', 'sh', '-c', script])));
  before(async () => {
    sb = await vmSandbox();
    repo = await fixtureRepo(sb.dir);
  });
  after(() => sb?.dispose());

  test('vm run PATH -- cmd: the repo at /root/repo with history and host edits; the exit code', async () => {
    const edit = [
      'set -e',
      'git config user.email guest@example.invalid && git config user.name guest',
      'test -x run.sh && test -L "link to run" && test ! -e build.log',
      'git log --oneline | wc -l',
      'git status --porcelain=v1',
      'echo guest edit >> run.sh',
      'echo forced > forced.log && git add -f forced.log',
      'echo committed > "committed file.txt" && git add "committed file.txt" && git commit -qm guest',
      'rm "link to run"',
      'head -c 2048 /dev/urandom > "sub dir/new blob.bin"',
      'printf "untracked in guest\\n" > "guest new.txt"',
      'echo noise > guest.log',
      'exit 5',
    ].join('\n');
    const r = await sb.cli(['vm', 'run', '--name', 'ws', repo, '--', 'sh', '-c', edit], BOOT);
    assert.equal(r.exitCode, 5, err(r));
    const lines = out(r).split('\n');
    assert.equal(lines[0]?.trim(), '2', 'both host commits are in the guest');
    assert.deepEqual(lines.slice(1).sort(), [
      ' M "file with spaces.txt"',
      '?? "untracked on host.txt"',
    ]);
    assert.match(err(r), /\] workspace: copying .*fixture repo into \/root\/repo/);
    assert.match(err(r), /fixture repo → ws:\/root\/repo \(7 files over the data port, base /);
  });

  test('export: a patch git apply takes on a fresh clone, reproducing the guest tree; the guest repo untouched', async () => {
    const before = await guest(REPO_STATE);
    const names = out(ok(await sb.cli(['vm', 'workspace', 'export', 'ws', '--name-only'])));
    assert.deepEqual(names.split('\n').sort(), [
      'committed file.txt',
      'file with spaces.txt',
      'forced.log',
      'guest new.txt',
      'link to run',
      'run.sh',
      'sub dir/new blob.bin',
      'untracked on host.txt',
    ]);
    const patch = join(sb.dir, 'changes.patch');
    ok(await sb.cli(['vm', 'workspace', 'export', 'ws', '--out', patch]));
    const stdoutPatch = await sb.cli(['vm', 'workspace', 'export', 'ws']);
    assert.equal(String(stdoutPatch.stdout), (await readFile(patch, 'utf8')).trimEnd());
    assert.equal(await guest(REPO_STATE), before);

    const clone = join(sb.dir, 'clone');
    await execa('git', ['clone', '-q', repo, clone]);
    await execa('git', ['apply', '--check', patch], { cwd: clone });
    await execa('git', ['apply', patch], { cwd: clone });
    const hostTree = (await execa('sh', ['-c', TREE_SUM], { cwd: clone })).stdout;
    const guestTree = await guest(`cd /root/repo && ${TREE_SUM}`);
    // The guest's ignored guest.log stays behind, as .gitignore says.
    assert.equal(
      hostTree,
      guestTree
        .split('\n')
        .filter((l) => !l.includes('guest.log'))
        .join('\n'),
    );
  });

  test('prepare --branch --from: a new branch from that revision, recorded as the base', async () => {
    const first = (await git(repo, 'rev-parse', 'HEAD~1')).trim();
    const r = ok(
      await sb.cli([
        'vm',
        'workspace',
        'prepare',
        'ws',
        repo,
        '--branch',
        'fix',
        '--from',
        'HEAD~1',
      ]),
    );
    assert.match(err(r), new RegExp(`branch fix, base ${first.slice(0, 12)}`));
    const state = await guest(
      'cd /root/repo && git branch --show-current && git rev-parse HEAD && cat .git/banger-base',
    );
    assert.deepEqual(state.split('\n'), ['fix', first, first]);
    // The host's untracked file came along again, and is part of what the export shows.
    const names = out(ok(await sb.cli(['vm', 'workspace', 'export', 'ws', '--name-only'])));
    assert.ok(names.split('\n').includes('untracked on host.txt'), names);
  });

  test('a guest without the data port driver gets the copy over ssh, the same repo', async () => {
    const hide = [
      'set -e',
      'ko=$(modinfo -n virtio_console)',
      'rmmod virtio_console',
      'mv "$ko" /root/virtio_console.ko.hidden',
      'echo "$ko" > /root/virtio_console.path',
    ].join('\n');
    await guest(hide);
    try {
      const r = ok(await sb.cli(['vm', 'workspace', 'prepare', 'ws', repo]));
      assert.match(err(r), /\(\d+ files over ssh, base /);
      const status = await guest('cd /root/repo && git status --porcelain=v1');
      assert.deepEqual(status.split('\n').sort(), [
        ' M "file with spaces.txt"',
        '?? "untracked on host.txt"',
      ]);
    } finally {
      await guest('mv /root/virtio_console.ko.hidden "$(cat /root/virtio_console.path)"');
    }
  });

  test('bad paths: not a directory, not a repository; export without a workspace', async () => {
    const plain = join(sb.dir, 'not a repo');
    await mkdir(plain);
    const r = await sb.cli(['vm', 'workspace', 'prepare', 'ws', plain]);
    assert.equal(r.exitCode, 1);
    assert.match(err(r), /is not inside a git repository/);
    // vm run checks PATH in the same place, with the same words and exit code, before boot.
    const run = await sb.cli(['vm', 'run', '--rm', plain, '--', 'true']);
    assert.equal(run.exitCode, 1);
    assert.match(err(run), /is not inside a git repository/);
    assert.doesNotMatch(err(run), /\] boot: /, 'nothing booted');
    const missing = await sb.cli(['vm', 'run', '--rm', join(sb.dir, 'nowhere'), '--', 'true']);
    assert.equal(missing.exitCode, 1);
    assert.match(err(missing), /is not a directory/);
    ok(await sb.cli(['vm', 'ssh', 'ws', '--', 'rm', '-rf', '/root/repo']));
    const none = await sb.cli(['vm', 'workspace', 'export', 'ws']);
    assert.equal(none.exitCode, 1);
    assert.match(err(none), /no workspace in \/root\/repo/);
  });

  test('a full disk: in the guest the import names the VM and keeps its repo; on the host the export names the disk', async () => {
    ok(await sb.cli(['vm', 'workspace', 'prepare', 'ws', repo]));
    const kept = await guest(REPO_STATE);
    const big = join(sb.dir, 'big repo');
    await mkdir(big);
    await git(big, 'init', '-q', '-b', 'main');
    await writeFile(join(big, 'blob.bin'), randomBytes(16 * 2 ** 20));
    await git(big, 'add', '-A');
    await git(
      big,
      '-c',
      'user.email=h@example.invalid',
      '-c',
      'user.name=h',
      'commit',
      '-qm',
      'big',
    );
    try {
      await guest(GUEST_FILL);
      const r = await sb.cli(['vm', 'workspace', 'prepare', 'ws', big]);
      assert.equal(r.exitCode, 1, err(r));
      assert.match(
        err(r),
        /^banger: vm "ws" is out of disk space: tar: .*No space left on device$/m,
      );
      assert.match(err(r), /banger vm set ws --disk-size SIZE/);
      assert.equal(await guest(REPO_STATE), kept, 'the repo already there is as it was');
      assert.equal(await guest('ls -A /root/.banger | grep -c repo-import || true'), '0');
    } finally {
      await guest(GUEST_UNFILL);
    }

    await guest('head -c 3145728 /dev/urandom > /root/repo/guest-big.bin');
    const disk = await smallDisk(join(sb.dir, 'small'), 16);
    try {
      await disk.fill(256 * 1024);
      const patch = join(disk.mountPoint, 'changes.patch');
      const r = await sb.cli(['vm', 'workspace', 'export', 'ws', '--out', patch]);
      assert.equal(r.exitCode, 1, err(r));
      assert.ok(
        err(r).includes(
          `banger: the disk holding ${patch} is full: ${disk.mountPoint} (${disk.device}),`,
        ),
        err(r),
      );
      assert.match(err(r), /free space there, or export elsewhere/);
      assert.deepEqual((await readdir(disk.mountPoint)).sort(), ['.test-filler', 'lost+found']);
    } finally {
      await disk.dispose();
      await guest('rm -f /root/repo/guest-big.bin');
    }
  });

  test('a stop issued while an import runs completes without waiting for it', async () => {
    // 400 MiB of incompressible data (800 with .git) makes the copy take many seconds under
    // emulation, even over the data port.
    const big = join(repo, 'big.bin');
    const file = await open(big, 'w');
    for (let i = 0; i < 100; i++) await file.write(randomBytes(4 * 2 ** 20));
    await file.close();
    const { child: prepare, stderr } = sb.spawn(['vm', 'workspace', 'prepare', 'ws', repo]);
    await waitFor('the import to start', () => stderr().includes('] workspace: copying'), 60_000);
    ok(await sb.cli(['vm', 'stop', 'ws'], BOOT));
    // Had stop waited for the workspace, the import would have completed; it was cut instead.
    const r = await prepare;
    assert.equal(r.exitCode, 1, `the import finished before the stop: ${stderr()}`);
    assert.match(stderr(), /copying the repository into the guest failed/);
    assert.match(out(ok(await sb.cli(['vm', 'ls']))), /^ws\s+stopped\s/m);
    ok(await sb.cli(['vm', 'rm', 'ws']));
  });
});
