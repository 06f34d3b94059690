import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Sandbox } from '../helpers/sandbox.js';
import { assertNoVmLeft, err, ok, out, vmSandbox } from '../helpers/vm.js';

const BOOT = { timeoutMs: 600_000 };
// What makes a VM itself on its system disk: a host key in /etc/ssh (what first boot makes
// when banger gave the VM none) and its machine-id.
const IDENTITY = 'ls /etc/ssh/ssh_host_ed25519_key 2>&1; cat /etc/machine-id';

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
    const setup =
      "echo tools > /etc/promoted && ssh-keygen -q -t ed25519 -N '' -f /etc/ssh/ssh_host_ed25519_key" +
      ` && systemd-machine-id-setup --commit >/dev/null 2>&1; sync; ${IDENTITY}`;
    const source = out(ok(await sb.cli(['vm', 'ssh', 'source', '--', 'sh', '-c', setup]))).split(
      '\n',
    );
    assert.equal(source[0], '/etc/ssh/ssh_host_ed25519_key');
    assert.match(source[1]!, /^[0-9a-f]{32}$/);

    const running = await sb.cli(['image', 'promote', 'source', 'tools']);
    assert.equal(running.exitCode, 1);
    assert.match(err(running), /vm "source" is running: "banger image promote" needs it stopped/);

    ok(await sb.cli(['vm', 'stop', 'source'], BOOT));
    const promoted = ok(await sb.cli(['image', 'promote', 'source', 'tools'], BOOT));
    for (const stage of ['flatten', 'identity', 'publish'])
      assert.match(err(promoted), new RegExp(`\\] ${stage}: `), stage);
    assert.match(out(promoted), /^tools\s+/m);
    const showImage = async (name: string) =>
      JSON.parse(out(ok(await sb.cli(['image', 'show', name, '--json'])))) as Record<
        string,
        unknown
      >;
    const [tools, base] = [await showImage('tools'), await showImage('debian-bookworm')];
    assert.equal(tools.managed, true);
    assert.equal(tools.kernel, base.kernel, 'the VM image kernel');
    assert.equal(tools.source, 'promote:source');

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
          `cat /etc/promoted; ${IDENTITY}`,
        ],
        BOOT,
      ),
    );
    const [file, key, machineId] = out(r).split('\n');
    assert.equal(file, 'tools');
    assert.match(key!, /No such file or directory/, 'the source VM host key came along');
    assert.notEqual(machineId, source[1], 'the source VM machine-id came along');

    // The source VM is unchanged and still boots as itself.
    ok(await sb.cli(['vm', 'start', 'source'], BOOT));
    const sourceAgain = out(ok(await sb.cli(['vm', 'ssh', 'source', '--', 'sh', '-c', IDENTITY])));
    assert.deepEqual(sourceAgain.split('\n'), source);
    ok(await sb.cli(['vm', 'rm', 'source']));
    ok(await sb.cli(['image', 'rm', 'tools']));
    await assertNoVmLeft(sb);
  });
});
