import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseListing } from './files.js';

test('parseListing: stat rows split on NUL, names with | kept, sorted', () => {
  const rows = [
    'regular file|644|12|1700000000|b|c.txt\n',
    'directory|755|4096|1700000001|a dir\n',
    'symbolic link|777|7|1700000002|link\n',
    'fifo|600|0|1700000003|pipe\n',
  ].join('\0');
  assert.deepEqual(parseListing(`${rows}\0`), [
    {
      name: 'a dir',
      type: 'directory',
      mode: 0o755,
      size: 4096,
      modifiedAt: new Date(1700000001000),
    },
    { name: 'b|c.txt', type: 'file', mode: 0o644, size: 12, modifiedAt: new Date(1700000000000) },
    { name: 'link', type: 'symlink', mode: 0o777, size: 7, modifiedAt: new Date(1700000002000) },
    { name: 'pipe', type: 'other', mode: 0o600, size: 0, modifiedAt: new Date(1700000003000) },
  ]);
  assert.deepEqual(parseListing(''), []);
});
