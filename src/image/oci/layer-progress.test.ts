import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LayerBytes } from '../../protocol/method.js';
import { layerProgress, REFRESH_MS } from './layer-progress.js';
import type { Descriptor } from './manifest.js';

const MiB = 2 ** 20;
const layer = (c: string, size: number): Descriptor => ({
  mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
  digest: `sha256:${c.repeat(64)}`,
  size,
});

function recorder() {
  const sent: { detail?: string; layers?: LayerBytes[] }[] = [];
  let clock = 0;
  return {
    sent,
    tick: (ms: number) => (clock += ms),
    now: () => clock,
    op: {
      progress: (stage: string, detail?: string, layers?: LayerBytes[]) => {
        assert.equal(stage, 'download');
        sent.push({ ...(detail ? { detail } : {}), ...(layers ? { layers } : {}) });
      },
    },
  };
}

test('a stage line per layer every 10% (what a pipe prints), each with every layer’s bytes', () => {
  const r = recorder();
  const layers = [layer('a', 10 * MiB), layer('b', 20 * MiB)];
  const report = layerProgress(r.op, layers, r.now);
  report(layers[0]!, 1, 10 * MiB);
  report(layers[0]!, 2, 10 * MiB); // same 10% step, no time passed: nothing
  report(layers[1]!, 20 * MiB, 20 * MiB); // cached: all of it at once
  report(layers[0]!, 10 * MiB, 10 * MiB);
  assert.deepEqual(r.sent, [
    {
      detail: 'layer 1/2: 1B of 10.0M',
      layers: [
        { received: 1, total: 10 * MiB },
        { received: 0, total: 20 * MiB },
      ],
    },
    {
      detail: 'layer 2/2: 20.0M of 20.0M',
      layers: [
        { received: 2, total: 10 * MiB },
        { received: 20 * MiB, total: 20 * MiB },
      ],
    },
    {
      detail: 'layer 1/2: 10.0M of 10.0M',
      layers: [
        { received: 10 * MiB, total: 10 * MiB },
        { received: 20 * MiB, total: 20 * MiB },
      ],
    },
  ]);
});

test('between stage lines, the bytes alone at most every REFRESH_MS', () => {
  const r = recorder();
  const layers = [layer('a', 100 * MiB)];
  const report = layerProgress(r.op, layers, r.now);
  report(layers[0]!, MiB, 100 * MiB); // a stage line
  for (let i = 2; i <= 9; i++) {
    r.tick(REFRESH_MS / 4);
    report(layers[0]!, i * MiB, 100 * MiB);
  }
  // 8 chunks over 2 × REFRESH_MS: two refreshes, no detail, the bytes as of then.
  assert.equal(r.sent.length, 3);
  assert.deepEqual(r.sent.slice(1), [
    { layers: [{ received: 5 * MiB, total: 100 * MiB }] },
    { layers: [{ received: 9 * MiB, total: 100 * MiB }] },
  ]);
  // What was sent is a snapshot, not the live counts.
  report(layers[0]!, 50 * MiB, 100 * MiB);
  assert.equal(r.sent[1]!.layers![0]!.received, 5 * MiB);
});

test('a layer listed twice is one blob: both entries get its bytes', () => {
  const r = recorder();
  const empty = layer('e', 32);
  const report = layerProgress(r.op, [empty, layer('a', MiB), empty], r.now);
  report(empty, 32, 32);
  assert.deepEqual(r.sent[0]!.layers, [
    { received: 32, total: 32 },
    { received: 0, total: MiB },
    { received: 32, total: 32 },
  ]);
});
