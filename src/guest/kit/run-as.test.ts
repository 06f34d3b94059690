import assert from 'node:assert/strict';
import { execa } from 'execa';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { inKit, KitPath } from './layout.js';
import { runAsScript } from './run-as.js';

// The kit's banger-as, run on this host with the host's busybox and setpriv in place of the
// kit's, against the host's /etc/passwd and /etc/group (nobody is 65534 on Debian).
const asRoot = process.getuid?.() === 0;

describe('banger-as runs a program as the image user', { skip: !asRoot && 'needs root' }, () => {
  let dir: string;
  let script: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'banger-as-'));
    script = join(dir, 'banger-as');
    const text = runAsScript()
      .replaceAll(inKit(KitPath.busybox), '/bin/busybox')
      .replaceAll(inKit(KitPath.setpriv), '/usr/bin/setpriv');
    await writeFile(script, text, { mode: 0o755 });
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  const as = (args: string[], env: Record<string, string> = {}) =>
    execa('/bin/busybox', ['sh', script, ...args], {
      reject: false,
      env: { PATH: '/usr/bin:/bin', HOME: '/root', ...env },
      extendEnv: false,
    });
  const ids = ['sh', '-c', 'echo "$(id -u) $(id -g) $(id -G) $HOME"'];

  test('a named user: its uid, primary group, groups and home', async () => {
    const r = await as(['nobody', ...ids]);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(r.stdout, '65534 65534 65534 /nonexistent');
  });

  test('a number with no passwd entry runs with group 0 and HOME=/, as docker does', async () => {
    assert.equal((await as(['4242', ...ids])).stdout, '4242 0 0 /');
    assert.equal((await as(['4242:4343', ...ids])).stdout, '4242 4343 4343 /');
  });

  test('a group by name; --keep-home keeps the HOME the image sets', async () => {
    assert.equal((await as(['nobody:root', ...ids])).stdout, '65534 0 0 /nonexistent');
    const kept = await as(['--keep-home', 'nobody', ...ids], { HOME: '/srv/home' });
    assert.equal(kept.stdout, '65534 65534 65534 /srv/home');
  });

  test('the exit code and arguments pass through', async () => {
    const r = await as(['nobody', 'sh', '-c', 'echo "$1"; exit 7', 'sh', 'a b']);
    assert.equal(r.exitCode, 7);
    assert.equal(r.stdout, 'a b');
  });

  test('an unknown user or group: exit 126 with the reason', async () => {
    const user = await as(['no-such-user', 'true']);
    assert.equal(user.exitCode, 126);
    assert.match(
      user.stderr,
      /user "no-such-user" \(the image's User\) is not in the image's \/etc\/passwd/,
    );
    const group = await as(['nobody:no-such-group', 'true']);
    assert.equal(group.exitCode, 126);
    assert.match(group.stderr, /group "no-such-group"/);
  });
});
