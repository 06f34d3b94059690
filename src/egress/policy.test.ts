import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatEgress, parseEgress, refusal } from './policy.js';

test('parse: none, all, names (lowercased, trailing dot dropped, duplicates once)', () => {
  assert.deepEqual(parseEgress('none'), { kind: 'none' });
  assert.deepEqual(parseEgress(' ALL '), { kind: 'all' });
  assert.deepEqual(parseEgress('PyPI.org., *.npmjs.org,pypi.org'), {
    kind: 'list',
    names: ['pypi.org', '*.npmjs.org'],
  });
  assert.equal(formatEgress(parseEgress('a.example,*.b.example')), 'a.example,*.b.example');
  assert.equal(formatEgress(parseEgress('none')), 'none');
});

test('parse: a bad entry is an error naming it', () => {
  const bad: [string, RegExp][] = [
    ['10.0.0.1', /"10\.0\.0\.1" is an address/],
    ['pypi.org,[::1]', /"\[::1\]" is an address/],
    ['pypi.org,,x.org', /"" is empty/],
    ['all,pypi.org', /"all" cannot be combined/],
    ['*.com', /too wide/],
    ['a.*.org', /a wildcard is one leading/],
    ['*', /a wildcard is one leading/],
    ['-a.org', /not a DNS name/],
    ['a_b.org', /not a DNS name/],
    [`${'a'.repeat(64)}.org`, /not a DNS name/],
    ['https://pypi.org', /not a DNS name/],
  ];
  for (const [text, message] of bad) assert.throws(() => parseEgress(text), message, text);
  assert.throws(
    () => parseEgress('x.org:443', 'network.egress'),
    /^BangerError: network\.egress: "x\.org:443"/,
  );
});

test('refusal: exact names, one-level wildcards, never an address', () => {
  const p = parseEgress('pypi.org,*.npmjs.org');
  for (const ok of ['pypi.org', 'PYPI.ORG.', 'registry.npmjs.org'])
    assert.equal(refusal(p, ok), undefined, ok);
  for (const no of [
    'npmjs.org',
    'a.b.npmjs.org',
    'evilpypi.org',
    'pypi.org.evil',
    'xnpmjs.org',
    '.npmjs.org',
  ])
    assert.equal(refusal(p, no), 'not in the egress list', no);
  assert.equal(refusal(p, '151.101.0.223'), 'an address, not a name');
  assert.equal(refusal(p, '[2001:db8::1]'), 'an address, not a name');
  assert.equal(refusal(parseEgress('none'), 'pypi.org'), 'egress is none');
  assert.equal(refusal(parseEgress('all'), '10.0.0.1'), undefined);
});
