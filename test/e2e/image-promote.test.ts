import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Sandbox } from '../helpers/sandbox.js';
import { assertNoVmLeft, err, ok, out, vmSandbox } from '../helpers/vm.js';

const BOOT = { timeoutMs: 180_000 };
const HOST_KEY = 'cat /etc/ssh/ssh_host_ed25519_key.pub';

// `banger image promote VM NAME` on a real VM: its system disk becomes an image that boots,
// keeps what was installed, and gives each new VM its own identity again.
describe('banger image promote', () => {
  let sb: Sandbox;
  before(async () => {
    sb = await vmSandbox();
  });
  after(() => sb?.dispose());

  test('a stopped VM becomes an image; VMs from it keep its files but not its identity', async () => {
    ok(await sb.cli(['vm', 'create', '--name', 'source'], BOOT));
    const sourceKey = out(
      ok(
        await sb.cli([
          'vm',
          'ssh',
          'source',
          '--',
          'sh',
          '-c',
          `echo tools > /etc/promoted && sync && ${HOST_KEY}`,
        ]),
      ),
    );
    assert.match(sourceKey, /^ssh-ed25519 /);

    const running = await sb.cli(['image', 'promote', 'source', 'tools']);
    assert.equal(running.exitCode, 1);
    assert.match(err(running), /vm "source" is running: stop it before promoting it/);

    ok(await sb.cli(['vm', 'stop', 'source'], BOOT));
    const promoted = ok(await sb.cli(['image', 'promote', 'source', 'tools'], BOOT));
    for (const stage of ['flatten', 'identity', 'publish'])
      assert.match(err(promoted), new RegExp(`\\] ${stage}: `), stage);
    assert.match(out(promoted), /^tools\s+/m);
    const base = JSON.parse(
      out(ok(await sb.cli(['image', 'show', 'debian-bookworm', '--json']))),
    ) as Record<string, unknown>;
    const show = JSON.parse(out(ok(await sb.cli(['image', 'show', 'tools', '--json'])))) as Record<
      string,
      unknown
    >;
    assert.equal(show.managed, true);
    assert.equal(show.kernel, base.kernel, 'the VM image kernel');
    assert.equal(show.source, 'promote:source');

    const again = await sb.cli(['image', 'promote', 'source', 'tools']);
    assert.equal(again.exitCode, 1);
    assert.match(err(again), /image "tools" already exists/);

    const r = ok(
      await sb.cli(
        [
          'vm',
          'run',
          '--rm',
          '--image',
          'tools',
          '--',
          'sh',
          '-c',
          `cat /etc/promoted; ${HOST_KEY}`,
        ],
        BOOT,
      ),
    );
    const [file, key] = out(r).split('\n');
    assert.equal(file, 'tools');
    assert.match(key!, /^ssh-ed25519 /);
    assert.notEqual(
      key,
      sourceKey.trim(),
      'a VM from the promoted image reused the source VM host key',
    );

    // The image is in use by nothing now; the source VM is unchanged and still boots.
    ok(await sb.cli(['vm', 'start', 'source'], BOOT));
    assert.equal(
      out(ok(await sb.cli(['vm', 'ssh', 'source', '--', 'sh', '-c', HOST_KEY]))),
      sourceKey.trim(),
    );
    ok(await sb.cli(['vm', 'rm', 'source']));
    ok(await sb.cli(['image', 'rm', 'tools']));
    await assertNoVmLeft(sb);
  });
});
