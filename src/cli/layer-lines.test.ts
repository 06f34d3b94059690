import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bytesOf, layerLines, rowsOf } from './layer-lines.js';

const MiB = 2 ** 20;

test('the total counts complete layers and all bytes; a line per layer still arriving', () => {
  assert.deepEqual(
    layerLines([
      { received: 50 * MiB, total: 50 * MiB },
      { received: 20 * MiB, total: 60 * MiB },
      { received: 0, total: 40 * MiB },
    ]),
    ['layers 1/3 · 70.0/150.0 MiB · 46%', '  layer 2/3 · 20.0/60.0 MiB'],
  );
  assert.deepEqual(
    layerLines([
      { received: 0, total: 2 * MiB },
      { received: 0, total: MiB },
    ]),
    ['layers 0/2 · 0.0/3.0 MiB · 0%'],
  );
  assert.deepEqual(
    layerLines([
      { received: 2 * MiB, total: 2 * MiB },
      { received: MiB, total: MiB },
    ]),
    ['layers 2/2 · 3.0/3.0 MiB · 100%'],
  );
});

test('an empty layer (0 bytes) is complete; no layers at all is 100%', () => {
  assert.deepEqual(layerLines([{ received: 0, total: 0 }]), ['layers 1/1 · 0.0/0.0 KiB · 100%']);
  assert.deepEqual(layerLines([]), ['layers 0/0 · 0.0/0.0 KiB · 100%']);
});

test('at most six layer lines under the total', () => {
  const many = Array.from({ length: 9 }, () => ({ received: MiB, total: 2 * MiB }));
  const lines = layerLines(many);
  assert.equal(lines.length, 7);
  assert.equal(lines[6], '  layer 6/9 · 1.0/2.0 MiB');
});

test('sizes: one unit per pair, chosen by the total', () => {
  assert.equal(bytesOf(41.2 * MiB, 150 * MiB), '41.2/150.0 MiB');
  assert.equal(bytesOf(512, 900), '0.5/0.9 KiB');
  assert.equal(bytesOf(300 * MiB, 2.5 * 2 ** 30), '0.3/2.5 GiB');
  assert.equal(bytesOf(MiB, MiB), '1.0/1.0 MiB');
});

test('rows a line takes on a terminal: escapes take no width, a long line wraps', () => {
  assert.equal(rowsOf('\x1b[2mabc\x1b[22m', 3), 1);
  assert.equal(rowsOf('abcd', 3), 2);
  assert.equal(rowsOf('', 80), 1);
  assert.equal(rowsOf('x'.repeat(500), undefined), 1);
});
