import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { execa } from 'execa';
import { which } from '../../system/which.js';
import { VmDnsServer } from './server.js';

// The responder as a real resolver tool sees it (dig is bind9-dnsutils; skipped without it).

const dig = which('dig');
const skip = dig ? false : 'dig is not installed (apt-get install bind9-dnsutils)';
let server: VmDnsServer;
let port: number;

before(async () => {
  server = new VmDnsServer({ subnet: '10.77.0.0/24' });
  server.setRecords([{ name: 'box', ip: '10.77.0.5' }]);
  port = (await server.listen([{ host: '127.0.0.1', port: 0 }]))[0]!.port;
});
after(() => server.close());

async function digAt(...args: string[]): Promise<string> {
  // +tries=1 +time=2: a failure is reported in seconds, not retried for fifteen.
  const r = await execa(dig!, ['@127.0.0.1', '-p', String(port), '+tries=1', '+time=2', ...args]);
  return r.stdout;
}

test('dig box.vm: the address, authoritative', { skip }, async () => {
  assert.equal((await digAt('+short', 'box.vm')).trim(), '10.77.0.5');
  const full = await digAt('box.vm');
  assert.match(full, /status: NOERROR/);
  assert.match(full, /flags: qr aa rd;/);
  assert.match(full, /^box\.vm\.\s+5\s+IN\s+A\s+10\.77\.0\.5$/m);
});

test('dig -x and an unknown name, over UDP and TCP', { skip }, async () => {
  assert.equal((await digAt('+short', '-x', '10.77.0.5')).trim(), 'box.vm.');
  assert.match(await digAt('nobody.vm'), /status: NXDOMAIN/);
  assert.equal((await digAt('+tcp', '+short', 'BOX.VM')).trim(), '10.77.0.5');
  assert.match(await digAt('box.vm', 'AAAA'), /status: NOERROR.*\n.*ANSWER: 0/);
  assert.match(await digAt('example.com'), /status: REFUSED/);
});
