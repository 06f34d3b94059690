import assert from 'node:assert/strict';
import { test } from 'node:test';
import { jsonDepth, MAX_DEPTH } from './rpc-limits.js';

const bytes = (s: string) => new TextEncoder().encode(s);

test('jsonDepth counts arrays and objects, not brackets inside strings', () => {
  assert.equal(jsonDepth(bytes('{"a":[1,{"b":2}]}')), 3);
  assert.equal(jsonDepth(bytes('"[[[[{{{{"')), 0);
  assert.equal(
    jsonDepth(bytes('{"a":"\\"[[[[","b":[]}')),
    2,
    'an escaped quote does not end the string',
  );
  assert.equal(jsonDepth(bytes('1')), 0);
  const deep = `${'['.repeat(100_000)}1${']'.repeat(100_000)}`;
  assert.equal(jsonDepth(bytes(deep)), MAX_DEPTH + 1, 'stops counting past the limit');
});
