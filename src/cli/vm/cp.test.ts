import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCopySide } from './cp.js';

test('parseCopySide: VM:PATH (relative to /root), anything else a host path', () => {
  assert.deepEqual(parseCopySide('box:/etc/hosts'), { vm: 'box', path: '/etc/hosts' });
  assert.deepEqual(parseCopySide('box:notes/a.txt'), { vm: 'box', path: '/root/notes/a.txt' });
  assert.deepEqual(parseCopySide('box:'), { vm: 'box', path: '/root' });
  assert.equal(parseCopySide('./box:x'), undefined);
  assert.equal(parseCopySide('/tmp/a:b'), undefined);
  assert.equal(parseCopySide('-'), undefined);
});
