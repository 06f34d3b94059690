import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { execa } from 'execa';
import { sshControlPath } from '../../src/config/layout.js';
import { BLOCK_START } from '../../src/ssh/user-config-block.js';
import { type Sandbox } from '../helpers/sandbox.js';
import { assertNoVmLeft, err, ok, vmShow, vmSandbox } from '../helpers/vm.js';

const BOOT = { timeoutMs: 600_000 };

// One real VM: `ssh NAME.vm` through the user's own ssh (the block banger put in the
// sandbox's ~/.ssh/config, the ProxyCommand through the daemon), and the pinned host key:
// another key in banger's known_hosts makes banger refuse the VM at once, in one line.
describe('ssh NAME.vm and pinned host keys', () => {
  let sb: Sandbox;
  before(async () => {
    sb = await vmSandbox();
  });
  after(() => sb?.dispose());

  /** The user's own ssh with the sandbox's ~/.ssh/config, and the sandbox's environment. */
  const userSsh = (args: readonly string[]) =>
    execa('ssh', ['-F', join(sb.env.HOME!, '.ssh', 'config'), ...args], {
      env: sb.env,
      extendEnv: false,
      reject: false,
      input: '',
      timeout: 120_000,
    });

  test('ssh pin.vm from the user ssh; another pinned key is refused; rm unpins', async () => {
    ok(await sb.cli(['vm', 'create', '--name', 'pin'], BOOT));
    const userConfig = join(sb.env.HOME!, '.ssh', 'config');
    assert.equal(sb.layout.userSshConfig, userConfig, "the sandbox's HOME, not the real one");
    assert.ok((await readFile(userConfig, 'utf8')).startsWith(`${BLOCK_START}\nInclude `));

    const hostname = await userSsh(['pin.vm', '--', 'hostname']);
    assert.equal(hostname.exitCode, 0, hostname.stderr);
    assert.equal(hostname.stdout.trim(), 'pin');
    const unknown = await userSsh(['nope.vm', 'true']);
    assert.equal(unknown.exitCode, 255);
    assert.match(unknown.stderr, /^banger: ssh nope\.vm: vm "nope" not found \(.*\)$/m);

    // Another key where pin's is pinned (what an impostor on its port would show).
    const pinned = await readFile(sb.layout.knownHosts, 'utf8');
    const line = pinned.split('\n').find((l) => l.startsWith('pin.vm '))!;
    const other = join(sb.dir, 'other-key');
    await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'other', '-f', other]);
    const otherKey = (await readFile(`${other}.pub`, 'utf8')).split(' ').slice(0, 2).join(' ');
    await writeFile(sb.layout.knownHosts, pinned.replace(line, `pin.vm ${otherKey}`));
    const refused = await userSsh(['pin.vm', 'true']);
    assert.equal(refused.exitCode, 255);
    assert.match(refused.stderr, /Host key verification failed/);

    // banger's master connection was verified when it was made: a new one must be.
    const { id } = (await vmShow(sb, 'pin')) as { id: string };
    await execa('ssh', ['-o', `ControlPath=${sshControlPath(sb.layout, id)}`, '-O', 'exit', 'x'], {
      reject: false,
    });
    const started = Date.now();
    const wrong = await sb.cli(['vm', 'ssh', 'pin', '--', 'true'], { timeoutMs: 120_000 });
    assert.equal(wrong.exitCode, 1, err(wrong));
    assert.match(
      err(wrong).split('\n')[0]!,
      /^banger: vm "pin" answered ssh with a host key that is not the one banger made for it \(pin\.vm in \/\S+\/known_hosts\): refusing to connect$/,
    );
    assert.ok(Date.now() - started < 60_000, `refused in ${Date.now() - started} ms`);

    // Its line removed, banger pins the key on the VM's work disk again.
    await writeFile(sb.layout.knownHosts, pinned.replace(`${line}\n`, ''));
    ok(await sb.cli(['vm', 'ssh', 'pin', '--', 'true']));
    assert.ok((await readFile(sb.layout.knownHosts, 'utf8')).includes(`${line}\n`));

    ok(await sb.cli(['vm', 'rm', 'pin']));
    assert.equal((await readFile(sb.layout.knownHosts, 'utf8')).includes('pin.vm'), false);
    await assertNoVmLeft(sb);
  });
});
