import assert from 'node:assert/strict';
import { test } from 'node:test';
import { editDistance, suggest } from './did-you-mean.js';

test('editDistance counts an adjacent swap as one edit', () => {
  assert.equal(editDistance('vcpu', 'vcpu'), 0);
  assert.equal(editDistance('vcpu', 'vpcu'), 1);
  assert.equal(editDistance('cpus', 'vcpu'), 2);
  assert.equal(editDistance('', 'abc'), 3);
  assert.equal(editDistance('kitten', 'sitting'), 3);
});

test('suggest picks the closest candidate within the limit', () => {
  const top = ['default_image_name', 'vm_defaults', 'file_sync', 'vmm', 'network'];
  assert.equal(suggest('vm_default', top), 'vm_defaults');
  assert.equal(suggest('filesync', top), 'file_sync');
  assert.equal(suggest('netwrok', top), 'network');
  assert.equal(suggest('VMM', top), 'vmm');
  assert.equal(suggest('defualt_imag_name', top), 'default_image_name');
  assert.equal(suggest('cpus', ['vcpu', 'memory', 'disk_size']), 'vcpu');
  assert.equal(suggest('disk-size', ['vcpu', 'memory', 'disk_size']), 'disk_size');
  assert.equal(suggest('hots', ['host', 'guest', 'mode']), 'host');
});

test('suggest returns undefined when nothing is close', () => {
  assert.equal(suggest('banana', ['vcpu', 'memory', 'disk_size']), undefined);
  assert.equal(suggest('x', ['vmm', 'nat']), undefined);
  assert.equal(suggest('ab', ['nat']), undefined);
  assert.equal(suggest('anything', []), undefined);
});

test('suggest prefers the nearer candidate, then the earlier one', () => {
  assert.equal(suggest('mode', ['node', 'mode']), 'mode');
  assert.equal(suggest('bat', ['cat', 'hat']), 'cat');
});

test('suggest completes a truncated word', () => {
  assert.equal(suggest('qemu_bin', ['driver', 'qemu_binary', 'qemu_img_binary']), 'qemu_binary');
  assert.equal(suggest('qemu_img', ['qemu_binary', 'qemu_img_binary']), 'qemu_img_binary');
  assert.equal(suggest('fire', ['qemu_binary', 'firecracker_binary']), 'firecracker_binary');
  assert.equal(suggest('q', ['qemu_binary']), undefined);
});
