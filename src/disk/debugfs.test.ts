import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { MiB } from '../config/size.js';
import { BangerError, ErrorCode } from '../errors.js';
import { realRunner } from '../system/runner.js';
import { DebugfsScript, debugfsCat, debugfsStat, runDebugfs } from './debugfs.js';
import { buildExt4 } from './ext4.js';

let dir: string;
let count = 0;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'banger-debugfs-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A small ext4 holding /etc/hostname. */
async function image(): Promise<string> {
  const tree = join(dir, `tree${++count}`);
  await mkdir(join(tree, 'etc'), { recursive: true });
  await writeFile(join(tree, 'etc/hostname'), 'guest\n');
  const file = join(dir, `img${count}.ext4`);
  await buildExt4(tree, file, 16 * MiB, realRunner);
  return file;
}

test('a script quotes paths debugfs would split and refuses ones it cannot name', () => {
  const script = new DebugfsScript()
    .mkdir('/etc/systemd')
    .mkdir('etc/systemd/')
    .mkdir('/etc/systemd/system')
    .write('/tmp/host file', '/etc/systemd/system/a b.service')
    .symlink('etc/systemd/system/multi-user.target.wants/a', '/etc/x y')
    .setOwner('/usr/bin/sudo', 0, 0)
    .setMode('/usr/bin/sudo', 0o104755)
    .rm('/etc/motd');
  assert.equal(
    script.text(),
    [
      'mkdir /etc/systemd',
      'mkdir /etc/systemd/system',
      'write "/tmp/host file" "/etc/systemd/system/a b.service"',
      'symlink /etc/systemd/system/multi-user.target.wants/a "/etc/x y"',
      'sif /usr/bin/sudo uid 0',
      'sif /usr/bin/sudo gid 0',
      'sif /usr/bin/sudo mode 0104755',
      'rm /etc/motd',
      '',
    ].join('\n'),
  );
  assert.throws(() => new DebugfsScript().mkdir('/a"b'), /debugfs cannot name "\/a\\"b"/);
  assert.throws(() => new DebugfsScript().write('/tmp/x', '/a\nrm /etc'), /line break/);
  assert.throws(() => new DebugfsScript().setMode('/x', 0o4755), /invalid inode mode/);
});

test('one debugfs run applies a script and leaves a filesystem e2fsck finds clean', async () => {
  const img = await image();
  const host = join(dir, 'host file');
  const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  await writeFile(host, bytes);
  const script = new DebugfsScript()
    .mkdir('/etc/banger')
    .write(host, '/etc/banger/my conf')
    .setOwner('/etc/banger/my conf', 1000, 1001)
    .setMode('/etc/banger/my conf', 0o100600)
    .symlink('/etc/link', '/etc/banger/my conf')
    .rm('/etc/hostname');
  await runDebugfs(img, script, realRunner);
  const fsck = await realRunner.run('e2fsck', ['-f', '-n', img], { allowFailure: true });
  assert.equal(fsck.exitCode, 0, fsck.stdout);

  assert.deepEqual(await debugfsCat(img, '/etc/banger/my conf', realRunner), bytes);
  assert.deepEqual(await debugfsStat(img, 'etc/banger/my conf', realRunner), {
    uid: 1000,
    gid: 1001,
    mode: 0o100600,
    type: 'file',
  });
  assert.equal((await debugfsStat(img, '/etc/link', realRunner))?.type, 'symlink');
  assert.equal((await debugfsStat(img, '/etc', realRunner))?.mode, 0o040755);
  assert.equal(await debugfsStat(img, '/etc/hostname', realRunner), undefined);
  await assert.rejects(
    debugfsCat(img, '/etc/hostname', realRunner),
    (err: unknown) => err instanceof BangerError && err.code === ErrorCode.NotFound,
  );
});

test('mkdir of an existing name is an error, never silently tolerated', async () => {
  // debugfs allocates the inode before it finds the name taken: tolerating the complaint
  // would leave an unconnected directory behind.
  const img = await image();
  await assert.rejects(
    runDebugfs(img, new DebugfsScript().mkdir('/lost+found'), realRunner),
    /already exists/,
  );
});

test('a failing command is named even though debugfs exits 0', async () => {
  const img = await image();
  const host = join(dir, 'x');
  await writeFile(host, 'x');
  await assert.rejects(
    runDebugfs(img, new DebugfsScript().write(host, '/nodir/x').mkdir('/ok'), realRunner),
    (err: unknown) =>
      err instanceof BangerError &&
      err.code === ErrorCode.Subprocess &&
      err.message.startsWith(`debugfs failed at "write ${host} /nodir/x" (command 1) on ${img}:`) &&
      /File not found/.test(err.message),
  );
  // The second of three identical-looking writes fails: the error names that one.
  await assert.rejects(
    runDebugfs(
      img,
      new DebugfsScript().write(host, '/a').write(host, '/etc/hostname').write(host, '/b'),
      realRunner,
    ),
    /^BangerError: debugfs failed at "write \S+ \/etc\/hostname" \(command 2\).*already exists/,
  );
  assert.equal((await debugfsStat(img, '/b', realRunner))?.type, 'file');
  await assert.rejects(
    runDebugfs(join(dir, 'missing.ext4'), new DebugfsScript().mkdir('/x'), realRunner),
    /debugfs could not open .*missing\.ext4/,
  );
});
