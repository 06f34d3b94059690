import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { resolveLayout, type Layout } from '../config/layout.js';
import { realRunner } from '../system/runner.js';
import { clientConfigPaths, installClientConfig } from './client-config.js';
import { hostKeyProblem } from './connection.js';

let dir: string;
let layout: Layout;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bgr-client-'));
  layout = resolveLayout({ HOME: join(dir, 'home'), XDG_STATE_HOME: join(dir, 'state') });
});
after(() => rm(dir, { recursive: true, force: true }));

/** What OpenSSH itself makes of `ssh HOST` with the user's config (`ssh -G`). */
async function resolved(host: string): Promise<Map<string, string>> {
  const r = await realRunner.run('ssh', ['-G', '-F', layout.userSshConfig, host]);
  return new Map(
    r.stdout.split('\n').map((l) => [l.slice(0, l.indexOf(' ')), l.slice(l.indexOf(' ') + 1)]),
  );
}

test("ssh NAME.vm, as OpenSSH reads the user's config: root, banger's key and known_hosts, the proxy", async () => {
  await installClientConfig(layout, { manageUserConfig: true });
  const paths = clientConfigPaths(layout);
  const g = await resolved('box.vm');
  assert.equal(g.get('user'), 'root');
  assert.equal(g.get('identityfile'), paths.keyFile);
  assert.equal(g.get('identitiesonly'), 'yes');
  assert.equal(g.get('userknownhostsfile'), layout.knownHosts);
  assert.equal(g.get('stricthostkeychecking'), 'true');
  assert.equal(g.get('proxycommand'), `'${process.execPath}' '${paths.cli}' internal ssh-proxy %h`);
  assert.ok(paths.cli.endsWith('/bin/banger.js'));
  await stat(paths.cli);
  // Other hosts are not touched.
  assert.equal((await resolved('example.org')).get('proxycommand'), undefined);
  assert.equal((await stat(layout.sshClientConfig)).mode & 0o777, 0o600);
});

test('with manage_config = false only banger’s own file is written', async () => {
  const other = resolveLayout({ HOME: join(dir, 'h2'), XDG_STATE_HOME: join(dir, 's2') });
  await installClientConfig(other, { manageUserConfig: false });
  await readFile(other.sshClientConfig, 'utf8');
  await assert.rejects(stat(other.userSshConfig), { code: 'ENOENT' });
});

test("ssh's host key failures become banger's one-line error", () => {
  const t = { hostKeyAlias: 'box.vm', knownHostsFile: '/s/known_hosts' };
  const changed = hostKeyProblem(
    t,
    '@@@@@\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\nHost key for box.vm has changed and you have requested strict checking.\nHost key verification failed.',
  );
  assert.equal(
    changed?.message,
    'vm "box" answered ssh with a host key that is not the one banger made for it (box.vm in /s/known_hosts): refusing to connect',
  );
  assert.equal(changed?.code, 'HOST_KEY');
  const missing = hostKeyProblem(
    t,
    'No ED25519 host key is known for box.vm and you have requested strict checking.\nHost key verification failed.',
  );
  assert.match(missing?.message ?? '', /no host key pinned for it/);
  assert.equal(hostKeyProblem(t, 'Connection refused'), undefined);
});
