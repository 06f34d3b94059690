// Tap networking through the real CLI on real VMs, all inside network namespaces this file
// makes and deletes: the daemon (and so its bridge, taps, nftables tables and VMs) runs in
// one; a second plays "outside" for NAT. Nothing is sent anywhere else.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { linkOutside, makeNetns, type Netns } from '../helpers/netns.js';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SANDBOX_CONFIG, type Sandbox } from '../helpers/sandbox.js';
import { assertNoVmLeft, ok, out, vmSandbox } from '../helpers/vm.js';

const BOOT = { timeoutMs: 600_000 };
const SMALL = ['--memory', '512M', '--vcpu', '1'];

// Network namespaces, bridges and nftables need root (CI and this project's machines are).
const notRoot = process.getuid?.() !== 0 && 'tap networking tests need root (network namespaces)';

describe('tap networking in a network namespace', { skip: notRoot }, () => {
  let ns: Netns;
  let outside: Netns & { ip: string };
  let sb: Sandbox;
  const stopOutside: (() => void)[] = [];

  before(async () => {
    ns = await makeNetns();
    outside = await linkOutside(ns);
    sb = await vmSandbox({ netns: ns.name });
  });
  after(async () => {
    for (const stop of stopOutside) stop();
    await sb?.dispose();
    await outside?.dispose();
    await ns?.dispose();
  });

  const inNs = (args: string[]) => ns.exec(args[0]!, args.slice(1));
  /**
   * curl in a VM straight to `url`, never through the egress proxy vm ssh points it at
   * (its exit code: 0 fetched, 28 timed out, 7 refused).
   */
  const curlIn = (vm: string, url: string) =>
    sb.cli(['vm', 'ssh', vm, '--', 'curl', '--noproxy', '*', '-sS', '-m', '3', url]);
  const show = async (name: string) =>
    JSON.parse(out(ok(await sb.cli(['vm', 'show', name, '--json'])))) as Record<string, unknown>;
  const state = async () => ({
    links: out(await inNs(['ip', '-o', 'link', 'show']))
      .split('\n')
      .map((l) => l.split(':')[1]?.trim().split('@')[0])
      .filter((n) => n && n !== 'lo')
      .sort(),
    tables: out(await inNs(['nft', 'list', 'tables'])),
  });

  test('a tap VM has its own address, serves the host, and is isolated from the outside and other VMs', async () => {
    ok(
      await sb.cli(['vm', 'create', '--name', 'a', '--network', 'tap', ...SMALL], BOOT),
      'create a',
    );
    const a = await show('a');
    assert.equal(a.network, 'tap');
    assert.equal(a.guestIp, '172.30.0.2');
    const addr = out(ok(await sb.cli(['vm', 'ssh', 'a', '--', 'ip', '-4', '-o', 'addr', 'show'])));
    assert.match(addr, /inet 172\.30\.0\.2\/24/);

    // A server in the guest is reached from the host at NAME.vm:PORT.
    ok(
      await sb.cli([
        'vm',
        'session',
        'start',
        'a',
        'web',
        '--',
        'sh',
        '-c',
        'mkdir -p /root/www && echo served > /root/www/f && exec busybox httpd -f -p 3000 -h /root/www',
      ]),
    );
    let fetched = '';
    for (let i = 0; i < 50 && fetched !== 'served'; i++) {
      await new Promise((r) => setTimeout(r, 300));
      fetched = await fetchIn(ns, 'http://a.vm:3000/f');
    }
    assert.equal(fetched, 'served');

    // Without NAT the guest reaches nothing outside; nor the host, but for DNS.
    const server = outsideServer(outside);
    stopOutside.push(server.stop);
    const noNat = await curlIn('a', `http://${outside.ip}:8080/`);
    assert.equal(noNat.exitCode, 28, `no NAT: outside unreachable (${String(noNat.stderr)})`);
    // The host answers a guest for DNS only: another port on the bridge address is dropped.
    const hostPort = await curlIn('a', 'http://172.30.0.1:8080/');
    assert.equal(hostPort.exitCode, 28, String(hostPort.stderr));

    // A second VM, with NAT, reaches the outside; the two cannot reach each other.
    ok(
      await sb.cli(['vm', 'create', '--name', 'b', '--network', 'tap', '--nat', ...SMALL], BOOT),
      'create b',
    );
    assert.equal((await show('b')).guestIp, '172.30.0.3');
    const viaNat = await curlIn('b', `http://${outside.ip}:8080/`);
    assert.equal(out(ok(viaNat, 'NAT fetch')), 'outside');
    const vmToVm = await curlIn('b', 'http://172.30.0.2:3000/f');
    assert.equal(vmToVm.exitCode, 28, `VM to VM must be dropped: ${out(vmToVm)}`);

    // name.vm: banger's responder on 127.0.0.1 for the host, on the bridge for guests.
    const dig = async (...q: string[]) =>
      out(await inNs(['dig', '@127.0.0.1', '-p', '42069', '+short', '+timeout=2', ...q]));
    assert.equal(await dig('a.vm'), '172.30.0.2');
    assert.equal(await dig('-x', '172.30.0.3'), 'b.vm.');
    const unknown = out(await inNs(['dig', '@127.0.0.1', '-p', '42069', '+timeout=2', 'nope.vm']));
    assert.match(unknown, /status: NXDOMAIN/);
    assert.equal(
      out(ok(await sb.cli(['vm', 'ssh', 'b', '--', 'getent', 'hosts', 'a.vm']))).split(/\s+/)[0],
      '172.30.0.2',
    );

    // The user's own ssh reaches a tap VM by name through banger's block in ~/.ssh/config.
    const own = await ns.exec(
      'ssh',
      ['-F', join(sb.env.HOME!, '.ssh/config'), 'a.vm', '--', 'hostname'],
      { env: sb.env },
    );
    assert.equal(String(own.stdout).trim(), 'a', String(own.stderr));

    // kill -9 of the daemon, then a restart: the same taps and rules, no duplicate, VMs kept.
    const before = await state();
    const rulesBefore = out(await inNs(['nft', 'list', 'ruleset']));
    process.kill((await sb.daemonPid())!, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 500));
    ok(await sb.cli(['vm', 'ls']), 'vm ls restarts the daemon');
    const again = await state();
    assert.deepEqual(
      again.links.filter((l) => !l!.startsWith('bp-')),
      before.links.filter((l) => !l!.startsWith('bp-')),
    );
    assert.equal(out(await inNs(['nft', 'list', 'ruleset'])), rulesBefore);
    assert.equal(await dig('b.vm'), '172.30.0.3');
    assert.equal(out(ok(await curlIn('b', `http://${outside.ip}:8080/`))), 'outside');

    // network.vm_to_vm = true (read at daemon start) lets the two reach each other.
    await writeFile(sb.layout.configFile, `${SANDBOX_CONFIG}[network]\nvm_to_vm = true\n`);
    ok(await sb.cli(['daemon', 'stop']));
    assert.equal(
      out(ok(await curlIn('b', 'http://172.30.0.2:3000/f'), 'vm_to_vm fetch')),
      'served',
    );
    await writeFile(sb.layout.configFile, SANDBOX_CONFIG);
    ok(await sb.cli(['daemon', 'stop']));

    // Stop and delete give back taps and rules: the namespace looks as before the VMs.
    ok(await sb.cli(['vm', 'rm', 'b'], BOOT));
    ok(await sb.cli(['vm', 'stop', 'a'], BOOT));
    const after = await state();
    assert.deepEqual(
      after.links.filter((l) => l!.startsWith('bt-')),
      [],
    );
    assert.equal(after.tables, '', 'no banger table once no tap VM runs');
    ok(await sb.cli(['vm', 'rm', 'a']));
    await assertNoVmLeft(sb);
  });

  test('8 parallel tap creates get 8 distinct addresses and taps; deleting them leaves none', async () => {
    const names = Array.from({ length: 8 }, (_, i) => `p${i}`);
    const created = await Promise.all(
      names.map((n) =>
        sb.cli(
          ['vm', 'create', '--name', n, '--network', 'tap', '--memory', '256M', '--vcpu', '1'],
          BOOT,
        ),
      ),
    );
    for (const r of created) ok(r, 'parallel create');
    const ips = await Promise.all(names.map(async (n) => String((await show(n)).guestIp)));
    assert.equal(new Set(ips).size, 8, ips.join(' '));
    const taps = (await state()).links.filter((l) => l!.startsWith('bt-'));
    assert.equal(taps.length, 8);
    ok(await sb.cli(['vm', 'rm', ...names], BOOT));
    const after = await state();
    assert.deepEqual(
      after.links.filter((l) => l!.startsWith('bt-')),
      [],
    );
    assert.equal(after.tables, '');
    await assertNoVmLeft(sb);
  });
});

/** A GET from inside a namespace with node's fetch: the body, or "" when it failed. */
async function fetchIn(ns: Netns, url: string): Promise<string> {
  // A NAME.vm host is looked up on banger's responder (what systemd-resolved would do for
  // it on a host that runs it), then fetched at the address it gave.
  const script = `
const u = new URL(${JSON.stringify(url)});
const { Resolver } = require('node:dns').promises;
const r = new Resolver({ timeout: 2000, tries: 1 });
r.setServers(['127.0.0.1:42069']);
(u.hostname.endsWith('.vm') ? r.resolve4(u.hostname) : Promise.resolve([u.hostname]))
  .then(([ip]) => { u.hostname = ip; return fetch(u, { signal: AbortSignal.timeout(3000) }); })
  .then((res) => res.text())
  .then((t) => process.stdout.write(t));`;
  const r = await ns.exec(process.execPath, ['-e', script]);
  return r.exitCode === 0 ? String(r.stdout) : '';
}

/** An HTTP server in the "outside" namespace answering "outside" on port 8080. */
function outsideServer(outside: Netns & { ip: string }): { stop: () => void } {
  const child = outside.exec(
    process.execPath,
    [
      '-e',
      `require('node:http').createServer((q, s) => s.end('outside')).listen(8080, ${JSON.stringify(outside.ip)})`,
    ],
    { timeoutMs: 600_000 },
  );
  return { stop: () => void child.kill() };
}
