// Warm start and fork on tap networking, inside a network namespace this file makes and
// deletes: resumed VMs get their own address and MAC from the identity hook, and the host
// reaches each at its own address. Nothing is sent anywhere else.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { makeNetns, type Netns } from '../helpers/netns.js';
import type { Sandbox } from '../helpers/sandbox.js';
import { err, ok, out, vmSandbox } from '../helpers/vm.js';

const LONG = { timeoutMs: 600_000 };
const SMALL = ['--memory', '512M', '--vcpu', '1', '--network', 'tap'];
const notRoot = process.getuid?.() !== 0 && 'tap networking tests need root (network namespaces)';

describe('warm start and fork on tap networking', { skip: notRoot }, () => {
  let ns: Netns;
  let sb: Sandbox;
  before(async () => {
    ns = await makeNetns();
    sb = await vmSandbox({ netns: ns.name });
  });
  after(async () => {
    await sb?.dispose();
    await ns?.dispose();
  });

  const show = async (name: string) =>
    JSON.parse(out(ok(await sb.cli(['vm', 'show', name, '--json'])))) as Record<string, unknown>;
  const guest = async (vm: string) =>
    out(
      ok(
        await sb.cli([
          ...['vm', 'ssh', vm, '--', 'sh', '-c'],
          'hostname; ip -4 -o addr show scope global | awk "{print \\$4}"; cat /sys/class/net/*/address | grep -v 00:00:00:00:00:00',
        ]),
      ),
    )
      .trim()
      .split('\n');

  test('VMs resumed from a tap template each have their own address and MAC', async () => {
    ok(await sb.cli(['image', 'warm', 'debian-bookworm', ...SMALL], LONG));
    for (const n of ['ta', 'tb']) {
      const r = ok(await sb.cli(['vm', 'create', '--name', n, ...SMALL], LONG));
      assert.match(err(r), /· warm$/m);
    }
    const [a, b] = [await show('ta'), await show('tb')];
    assert.notEqual(a.guestIp, b.guestIp);
    const [ga, gb] = [await guest('ta'), await guest('tb')];
    assert.deepEqual(ga.slice(0, 2), ['ta', `${String(a.guestIp)}/24`]);
    assert.deepEqual(gb.slice(0, 2), ['tb', `${String(b.guestIp)}/24`]);
    assert.notEqual(ga[2], gb[2], 'each has its own MAC');
    // The host reaches each at its own address (banger's ssh goes there directly).
    const ssh = await ns.exec('bash', [
      '-c',
      `exec 3<>/dev/tcp/${String(b.guestIp)}/22 && head -c 4 <&3`,
    ]);
    assert.equal(String(ssh.stdout), 'SSH-', String(ssh.stderr));
  });

  test('a fork of a tap VM gets its own address; both answer', async () => {
    const r = ok(await sb.cli(['vm', 'fork', 'ta', '--name', 'tc'], LONG));
    assert.equal(out(r).trim(), 'tc');
    const c = await show('tc');
    const a = await show('ta');
    assert.notEqual(c.guestIp, a.guestIp);
    assert.deepEqual((await guest('tc')).slice(0, 2), ['tc', `${String(c.guestIp)}/24`]);
    assert.deepEqual((await guest('ta')).slice(0, 2), ['ta', `${String(a.guestIp)}/24`]);
    ok(await sb.cli(['vm', 'rm', 'ta', 'tb', 'tc']));
  });
});
