// Egress policies on real VMs, in both network modes, all inside network namespaces this
// file makes and deletes: the daemon (its VMs, bridge, proxy) runs in one, a second plays
// "the outside" (192.0.2.1: DNS for the test's names, HTTP on 80 and 8080). The proxy
// resolves names with that DNS server (network.egress_dns), never a real one; nothing is
// sent anywhere else.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startEgressWorld, type EgressWorld } from '../helpers/egress-world.js';
import { linkOutside, makeNetns, type Netns } from '../helpers/netns.js';
import type { Sandbox } from '../helpers/sandbox.js';
import { err, ok, out, vmSandbox } from '../helpers/vm.js';

const BOOT = { timeoutMs: 600_000 };
const SMALL = ['--memory', '512M', '--vcpu', '1'];
const notRoot = process.getuid?.() !== 0 && 'egress tests need root (network namespaces)';
const LIST = 'allowed.test,*.wild.test';
/** What a guest with LIST tries in both modes, and what it must get: the names, not another name or port. */
const LISTED = [
  'probe http://allowed.test/',
  'probe -p http://a.wild.test/',
  'code http://other.test/',
  'code http://allowed.test:8080/',
];
const LISTED_ANSWERS = ['hello allowed.test', 'hello a.wild.test', '403', '403'];

/**
 * Each probe prints one line: what came back, or `failed` (refused or timed out). A DNS query of the
 * guest's own (for probe.test, a name the proxy never asks) is sent over UDP with bash and
 * reads an answer for 3 s: `dns answered` or `dns silent`.
 */
const PROBES = String.raw`
probe() { r=$(curl -sS -m 4 "$@" 2>/dev/null) && echo "$r" || echo failed; }
code() { curl -s -m 4 -o /dev/null -w '%{http_code}\n' "$@" || true; }
dnsq() {
  exec 3<>/dev/udp/$1/53 || { echo "dns silent"; return; }
  printf '\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x05probe\x04test\x00\x00\x01\x00\x01' >&3
  if timeout 3 head -c 1 <&3 >/dev/null 2>&1; then echo "dns answered"; else echo "dns silent"; fi
  exec 3<&-
}
`;

describe('egress: none, all, or a list of names, in user and tap mode', { skip: notRoot }, () => {
  let ns: Netns;
  let outside: Netns & { ip: string };
  let world: EgressWorld;
  let sb: Sandbox;

  before(async () => {
    ns = await makeNetns();
    outside = await linkOutside(ns);
    world = await startEgressWorld(outside, ['allowed.test', 'a.wild.test', 'other.test']);
    sb = await vmSandbox({
      netns: ns.name,
      config: `[network]\negress_dns = ["${outside.ip}"]\n`,
    });
  });
  after(async () => {
    world?.stop();
    await sb?.dispose();
    await outside?.dispose();
    await ns?.dispose();
  });

  /** The probes' lines, run with `vm exec` (which sets the proxy variables, as vm run does). */
  const probe = async (vm: string, script: string) =>
    out(ok(await sb.cli(['vm', 'exec', vm, '--', 'bash', '-c', PROBES + script], BOOT)))
      .trim()
      .split('\n');
  const egressLog = async (vm: string) => out(ok(await sb.cli(['vm', 'logs', '--egress', vm])));

  test('user mode, a list: the listed names by HTTP and CONNECT; not another name, port, an address, or DNS of its own', async () => {
    ok(await sb.cli(['vm', 'create', '--name', 'eu', '--egress', LIST, ...SMALL], BOOT));
    const show = JSON.parse(out(ok(await sb.cli(['vm', 'show', 'eu', '--json'])))) as {
      egress: string;
    };
    assert.equal(show.egress, LIST);
    const lines = await probe(
      'eu',
      [
        ...LISTED,
        `code http://${outside.ip}/`,
        `probe --noproxy '*' http://${outside.ip}/`,
        `dnsq ${outside.ip}`,
        'dnsq 10.0.2.3',
      ].join('\n'),
    );
    assert.deepEqual(lines, [...LISTED_ANSWERS, '403', 'failed', 'dns silent', 'dns silent']);
    assert.ok(!(await world.queries()).includes('probe.test'), 'the guest’s own DNS never left');
    const log = await egressLog('eu');
    assert.match(log, /^\S+ allowed allowed\.test:80$/m);
    assert.match(log, /^\S+ allowed a\.wild\.test:80$/m);
    assert.match(log, /^\S+ denied other\.test:80 not in the egress list$/m);
    assert.match(log, /^\S+ denied allowed\.test:8080 port 8080 is not one of 80, 443$/m);
    assert.match(log, /^\S+ denied 192\.0\.2\.1:80 an address, not a name$/m);

    // Changed while it runs: the next connection meets the new list.
    ok(await sb.cli(['vm', 'set', 'eu', '--egress', 'other.test']));
    assert.deepEqual(await probe('eu', 'code http://allowed.test/\nprobe http://other.test/'), [
      '403',
      'hello other.test',
    ]);
    // vm ssh sets the proxy variables too: for a command, and for a shell reading stdin.
    assert.equal(
      out(
        ok(await sb.cli(['vm', 'ssh', 'eu', '--', 'curl', '-sS', '-m', '4', 'http://other.test/'])),
      ),
      'hello other.test',
    );
    const shell = await sb.cli(['vm', 'ssh', 'eu'], {
      input: 'echo "$0"; curl -sS -m 4 http://other.test/\n',
    });
    assert.match(out(ok(shell)), /^-?\S*sh\nhello other\.test$/);
    // A daemon killed and started again listens on the VM's proxy port again.
    process.kill((await sb.daemonPid())!, 'SIGKILL');
    ok(await sb.cli(['vm', 'ls']), 'vm ls restarts the daemon');
    assert.deepEqual(await probe('eu', 'probe http://other.test/'), ['hello other.test']);
    const all = await sb.cli(['vm', 'set', 'eu', '--egress', 'all']);
    assert.notEqual(all.exitCode, 0);
    assert.match(
      err(all),
      /user-mode networking, where egress other\.test → all applies only at boot/,
    );
    ok(await sb.cli(['vm', 'rm', 'eu']));
  });

  test('the default is none: nothing outside, every try logged', async () => {
    ok(await sb.cli(['vm', 'create', '--name', 'en', ...SMALL], BOOT));
    assert.deepEqual(
      await probe('en', `code http://allowed.test/\nprobe --noproxy '*' http://${outside.ip}/`),
      ['403', 'failed'],
    );
    assert.match(await egressLog('en'), /denied allowed\.test:80 egress is none$/m);
    ok(await sb.cli(['vm', 'rm', 'en']));
  });

  test('tap mode, a list: the same refusals; egress all opens NAT on the running VM', async () => {
    ok(
      await sb.cli(
        ['vm', 'create', '--name', 'et', '--network', 'tap', '--egress', LIST, ...SMALL],
        BOOT,
      ),
    );
    const lines = await probe(
      'et',
      [...LISTED, `probe --noproxy '*' http://${outside.ip}/`, `dnsq ${outside.ip}`].join('\n'),
    );
    assert.deepEqual(lines, [...LISTED_ANSWERS, 'failed', 'dns silent']);
    assert.ok(!(await world.queries()).includes('probe.test'), 'the guest’s own DNS never left');
    assert.match(await egressLog('et'), /denied other\.test:80 not in the egress list$/m);

    ok(await sb.cli(['vm', 'set', 'et', '--egress', 'all']));
    assert.deepEqual(await probe('et', `probe --noproxy '*' http://${outside.ip}/`), [
      'hello 192.0.2.1',
    ]);
    ok(await sb.cli(['vm', 'set', 'et', '--egress', 'none']));
    assert.deepEqual(
      await probe('et', `probe --noproxy '*' http://${outside.ip}/\ncode http://allowed.test/`),
      ['failed', '403'],
    );
    ok(await sb.cli(['vm', 'rm', 'et']));
  });

  test('bad input: a clear one-line error, nothing made', async () => {
    const r = await sb.cli(['vm', 'create', '--name', 'bad', '--egress', 'pypi.org,10.0.0.1']);
    assert.notEqual(r.exitCode, 0);
    assert.match(err(r), /--egress: "10\.0\.0\.1" is an address/);
    const names = out(ok(await sb.cli(['vm', 'ls', '--json'])));
    assert.doesNotMatch(names, /"bad"/);
  });
});
