import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ipFromReverseName, parseSubnet, reverseName } from './ipv4.js';
import { normaliseName, VmDnsRecords } from './records.js';

test('names: lowercase, one trailing dot dropped', () => {
  assert.equal(normaliseName('Box.VM.'), 'box.vm');
  assert.equal(normaliseName('box.vm'), 'box.vm');
  assert.equal(normaliseName('.'), '');
});

test('reverse names both ways; partial or odd names are not addresses', () => {
  assert.equal(reverseName('10.77.0.5'), '5.0.77.10.in-addr.arpa');
  assert.equal(ipFromReverseName('5.0.77.10.in-addr.arpa'), '10.77.0.5');
  for (const name of [
    '0.77.10.in-addr.arpa',
    '256.0.77.10.in-addr.arpa',
    'x.5.0.77.10.in-addr.arpa',
    '5.0.77.10.ip6.arpa',
    'in-addr.arpa',
  ])
    assert.equal(ipFromReverseName(name), undefined, name);
});

test('subnets contain what their prefix says', () => {
  const s = parseSubnet('10.77.0.0/24');
  assert.ok(s.contains('10.77.0.0') && s.contains('10.77.0.255'));
  assert.ok(!s.contains('10.77.1.0') && !s.contains('10.76.255.255') && !s.contains('nope'));
  assert.ok(parseSubnet('10.77.3.9/16').contains('10.77.200.1'), 'host bits are ignored');
  assert.ok(parseSubnet('0.0.0.0/0').contains('203.0.113.7'));
  assert.ok(parseSubnet('10.0.0.1/32').contains('10.0.0.1'));
  for (const bad of ['10.77.0.0', '10.77.0.0/33', '10.77.0/24', 'fd00::/64', '10.0.0.0/8/1'])
    assert.throws(() => parseSubnet(bad), /not an IPv4 subnet/, bad);
});

test('records: looked up by name and by address, replaced whole', () => {
  const records = new VmDnsRecords();
  records.set([
    { name: 'Box', ip: '10.77.0.5' },
    { name: 'twin', ip: '10.77.0.5' },
  ]);
  assert.equal(records.address('box.vm'), '10.77.0.5');
  assert.equal(records.address('twin.vm'), '10.77.0.5');
  assert.equal(records.nameOf('10.77.0.5'), 'box.vm', 'the first name keeps the address');
  assert.equal(records.size, 2);
  records.set([]);
  assert.equal(records.address('box.vm'), undefined);
  assert.equal(records.nameOf('10.77.0.5'), undefined);
});
