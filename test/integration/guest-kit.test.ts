import assert from 'node:assert/strict';
import { execa } from 'execa';
import { chmod, copyFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { readElf } from '../../src/guest/kit/elf.js';
import { KIT_PREFIX } from '../../src/guest/kit/layout.js';
import { KIT_SSHD_LOG, KIT_SSHD_PID, READY_LINE } from '../../src/guest/kit/sshd-config.js';
import { freeLoopbackPort } from '../../src/system/ports.js';
import { disposeGuestKit, guestKit, type BuiltKit } from '../helpers/kit.js';
import { scratch } from '../helpers/scratch.js';

// The kit's promise: its programs run on a root with no glibc, no loader and no sshd — here a
// busybox-only tree — with the kit's ext4 mounted read-only at its prefix, as in a guest.
const work = scratch('banger-guest-kit-');
let kit: BuiltKit;
let root = '';
let clientKey = '';

// A private mount namespace per run: the kit's loop mount, /dev and /proc in the tree and the
// passwd bind mount banger-sshd makes all vanish with its last process. The network is the
// host's (loopback only is used).
const ENTER = `set -e
mount -o loop,ro "$KIT" "$ROOT${KIT_PREFIX}"
mount --rbind /dev "$ROOT/dev"
mount -t proc proc "$ROOT/proc"
exec chroot "$ROOT" "$@"`;

function inForeignRoot(args: string[], env: Record<string, string> = {}) {
  return execa(
    'unshare',
    ['--mount', '--propagation', 'private', 'sh', '-c', ENTER, 'sh', ...args],
    {
      env: { KIT: kit.outFile, ROOT: root, ...env },
      reject: false,
      timeout: 60_000,
    },
  );
}

before(async () => {
  kit = await guestKit();
  root = await work.freshRoot();
  for (const d of [
    'bin',
    'sbin',
    'usr/bin',
    'usr/sbin',
    'etc',
    'root/.ssh',
    'root/.banger',
    'run',
    'proc',
    'dev',
    'tmp',
    KIT_PREFIX.slice(1),
  ])
    await mkdir(join(root, d), { recursive: true });
  // Debian's busybox-static is the whole userland: applets as symlinks, nothing else.
  assert.equal(
    (await readElf('/bin/busybox')).interpreter,
    undefined,
    'the host busybox must be static',
  );
  await copyFile('/bin/busybox', join(root, 'bin/busybox'));
  await chmod(join(root, 'bin/busybox'), 0o755);
  await execa('chroot', [root, '/bin/busybox', '--install', '-s']);
  await writeFile(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  await writeFile(join(root, 'etc/group'), 'root:x:0:\n');
  await chmod(join(root, 'root'), 0o700);
  // banger makes each VM's host key on the host at create; the test plays that part.
  await execa('ssh-keygen', [
    '-q',
    '-t',
    'ed25519',
    '-N',
    '',
    '-f',
    join(root, 'root/.banger/ssh_host_ed25519_key'),
  ]);
  clientKey = join(work.dir, 'client');
  await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', clientKey]);
  await copyFile(`${clientKey}.pub`, join(root, 'root/.ssh/authorized_keys'));
  await chmod(join(root, 'root/.ssh/authorized_keys'), 0o600);
});

after(() => disposeGuestKit());

/** Stops the kit's sshd (it daemonized) and waits for it: its mount namespace goes with it. */
async function stopSshd(): Promise<void> {
  const pid = Number(await readFile(join(root, KIT_SSHD_PID), 'utf8').catch(() => ''));
  if (!(pid > 0)) return;
  const alive = () => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  if (alive()) process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 100 && alive(); i++) await new Promise((r) => setTimeout(r, 50));
}

test('the kit records its packages and programs, all under its prefix', () => {
  assert.match(kit.manifest.packages['openssh-server'] ?? '', /^1:9\.2p1-/);
  assert.ok(kit.manifest.packages['libc6'], 'glibc is one of the packages');
  assert.ok(Object.keys(kit.manifest.packages).length > 20);
  for (const name of [
    'sshd',
    'sftp-server',
    'banger-sshd',
    'busybox',
    'tmux',
    'git',
    'tar',
    'perl',
    'setpriv',
    'banger-as',
  ])
    assert.ok(kit.manifest.programs[name]?.startsWith(`${KIT_PREFIX}/`), name);
  console.log(`guest kit: ${kit.bytes / 2 ** 20} MiB ext4, built in ${kit.seconds.toFixed(1)} s`);
});

test('the foreign root has no glibc and no loader of its own', async () => {
  const files: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      if (e.isDirectory()) await walk(join(dir, e.name));
      else files.push(e.name);
    }
  };
  await walk(root);
  assert.deepEqual(
    files.filter((f) => /^(ld-linux|libc\.so|libc\.musl)/.test(f)),
    [],
  );
  assert.ok(files.includes('busybox'));
});

test("the kit's banger-as runs a program as the image's user in the foreign root", async () => {
  const r = await inForeignRoot([
    kit.manifest.programs['banger-as']!,
    ...['4242:4343', '/bin/busybox', 'sh', '-c', 'echo "$(id -u) $(id -g) $HOME"'],
  ]);
  assert.equal(r.exitCode, 0, `${r.stderr}\n${r.stdout}`);
  assert.equal(r.stdout, '4242 4343 /');
  const unknown = await inForeignRoot([kit.manifest.programs['banger-as']!, 'nobody', '/bin/true']);
  assert.equal(unknown.exitCode, 126);
  assert.match(
    unknown.stderr,
    /user "nobody" \(the image's User\) is not in the image's \/etc\/passwd/,
  );
});

test("the kit's sshd accepts its configuration in the foreign root", async () => {
  const r = await inForeignRoot([`${KIT_PREFIX}/libexec/banger-sshd`, '-t'], {
    BANGER_READY_TTY: '',
  });
  assert.equal(r.exitCode, 0, `${r.stderr}\n${r.stdout}`);
});

test('ssh into the foreign root runs the kit’s tmux, git and tar; sftp works', async (t) => {
  t.after(stopSshd);
  const port = await freeLoopbackPort();
  const started = await inForeignRoot(
    [`${KIT_PREFIX}/libexec/banger-sshd`, '-p', String(port), '-o', 'ListenAddress=127.0.0.1'],
    // A file for the guest's /dev/ttyS0 (node's stdout pipe is a socket: no reopening it).
    { BANGER_READY_TTY: '/run/ready' },
  );
  const log = await readFile(join(root, KIT_SSHD_LOG), 'utf8').catch(() => '');
  assert.equal(started.exitCode, 0, `${started.stderr}\n${log}`);
  assert.equal(await readFile(join(root, 'run/ready'), 'utf8'), `${READY_LINE}\n`);
  // The image's passwd lacked sshd's privilege-separation user; it is unchanged on disk.
  assert.equal(await readFile(join(root, 'etc/passwd'), 'utf8'), 'root:x:0:0:root:/root:/bin/sh\n');

  const ssh = [
    '-i',
    clientKey,
    '-o',
    'BatchMode=yes',
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    'StrictHostKeyChecking=no',
    '-o',
    'UserKnownHostsFile=/dev/null',
    '-o',
    'LogLevel=error',
    '-o',
    'ConnectTimeout=20',
  ];
  // Debian's busybox shell prefers its own applets to PATH (FEATURE_SH_STANDALONE), so a bare
  // "tar" there is busybox's: the kit's comes first on PATH and is run by that path.
  const r = await execa(
    'ssh',
    [
      ...ssh,
      '-p',
      String(port),
      'root@127.0.0.1',
      'echo hi; tmux -V; git --version; "$(which tar)" --version | head -1; which tar; id -un; grep -c . /etc/passwd; perl -e \'print 6 * 7, "\\n"\'',
    ],
    { reject: false, timeout: 60_000 },
  );
  assert.equal(r.exitCode, 0, `${r.stderr}\n${await readFile(join(root, KIT_SSHD_LOG), 'utf8')}`);
  assert.deepEqual(r.stdout.trim().split('\n'), [
    'hi',
    'tmux 3.3a',
    'git version 2.39.5',
    'tar (GNU tar) 1.34',
    `${KIT_PREFIX}/bin/tar`,
    'root',
    // in the session, /etc/passwd is the bind-mounted copy with sshd added
    '2',
    // the kit's perl, a bare interpreter (the warm-start identity hook uses no modules)
    '42',
  ]);

  const git = await execa(
    'ssh',
    [
      ...ssh,
      '-p',
      String(port),
      'root@127.0.0.1',
      'git init -q /tmp/repo && cd /tmp/repo && git -c user.name=t -c user.email=t@t commit -q --allow-empty -m one && git log --format=%s',
    ],
    { reject: false, timeout: 60_000 },
  );
  assert.equal(git.exitCode, 0, git.stderr);
  assert.equal(git.stdout.trim(), 'one');

  const sftp = await execa('sftp', [...ssh, '-P', String(port), '-b', '-', 'root@127.0.0.1'], {
    input: 'ls /run/banger-kit/etc\n',
    reject: false,
    timeout: 60_000,
  });
  assert.equal(sftp.exitCode, 0, sftp.stderr);
  assert.match(sftp.stdout, /sshd_config/);
});
