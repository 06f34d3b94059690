import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LayerBytes } from '../protocol/method.js';
import { ProgressRenderer } from './progress.js';

const MiB = 2 ** 20;

/** A stderr that records what was written, as a terminal (isTTY) or a pipe. */
function stream(tty: boolean) {
  const writes: string[] = [];
  const out = {
    isTTY: tty,
    columns: 200,
    write: (s: string) => writes.push(s) > 0,
  } as unknown as NodeJS.WriteStream;
  return { out, writes, text: () => writes.join('') };
}

/** What a terminal shows after `written`: \r, \n, ESC[nA, ESC[J and ESC[2K; colours dropped. */
function screen(written: string): string[] {
  const rows = [''];
  let row = 0;
  let col = 0;
  for (let i = 0; i < written.length;) {
    // eslint-disable-next-line no-control-regex
    const esc = /^\x1b\[(\d*)([A-Za-z])/.exec(written.slice(i));
    if (esc) {
      i += esc[0].length;
      if (esc[2] === 'A') row = Math.max(0, row - Number(esc[1] || 1));
      if (esc[2] === 'J') rows.splice(row, rows.length, rows[row]!.slice(0, col));
      if (esc[2] === 'K' && esc[1] === '2') rows[row] = '';
      continue;
    }
    const c = written[i++]!;
    if (c === '\r') col = 0;
    else if (c === '\n') {
      row++;
      col = 0;
      rows[row] ??= '';
    } else {
      const line = rows[row]!.padEnd(col);
      rows[row] = line.slice(0, col) + c + line.slice(col + 1);
      col++;
    }
  }
  return rows;
}

// eslint-disable-next-line no-control-regex
const plain = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '');

/** An OCI pull's notifications: stage lines, layer stage lines, and refreshes between. */
function pull(p: ProgressRenderer, tick: (ms: number) => void) {
  const bytes = (a: number, b: number): LayerBytes[] => [
    { received: a, total: 10 * MiB },
    { received: b, total: 30 * MiB },
  ];
  p.onProgress('resolve', 'reg/app:1');
  p.onProgress('download', '2 layers, 40.0M (sha256:abcd)');
  p.onProgress('download', 'layer 1/2: 1B of 10.0M', bytes(1, 0));
  p.onProgress('download', 'layer 2/2: 1B of 30.0M', bytes(1, 1));
  tick(200);
  p.onProgress('download', undefined, bytes(5 * MiB, 6 * MiB));
  tick(200);
  p.onProgress('download', 'layer 1/2: 10.0M of 10.0M', bytes(10 * MiB, 12 * MiB));
  tick(200);
  p.onProgress('download', undefined, bytes(10 * MiB, 20 * MiB));
  tick(200);
  p.onProgress('download', 'layer 2/2: 30.0M of 30.0M', bytes(10 * MiB, 30 * MiB));
  tick(1000);
  p.onProgress('flatten', '2 layers');
  p.done();
}

test('piped: the stage lines only, exactly as before; refreshes print nothing', () => {
  const s = stream(false);
  let clock = 0;
  pull(new ProgressRenderer('image pull', s.out, () => clock), (ms) => (clock += ms));
  assert.deepEqual(plain(s.text()).split('\n'), [
    '[image pull 0.0s] resolve: reg/app:1',
    '[image pull 0.0s] download: 2 layers, 40.0M (sha256:abcd)',
    '[image pull 0.0s] download: layer 1/2: 1B of 10.0M',
    '[image pull 0.0s] download: layer 2/2: 1B of 30.0M',
    '[image pull 0.4s] download: layer 1/2: 10.0M of 10.0M',
    '[image pull 0.8s] download: layer 2/2: 30.0M of 30.0M',
    '[image pull 1.8s] flatten: 2 layers',
    '',
  ]);
});

test('a terminal: the layer download is one block drawn in place, its total and a line per layer arriving', () => {
  const s = stream(true);
  let clock = 0;
  const p = new ProgressRenderer('image pull', s.out, () => clock);
  const tick = (ms: number) => (clock += ms);
  p.onProgress('resolve', 'reg/app:1');
  p.onProgress('download', '2 layers, 40.0M (sha256:abcd)');
  p.onProgress('download', 'layer 1/2: 1B of 10.0M', [
    { received: 4 * MiB, total: 10 * MiB },
    { received: 6 * MiB, total: 30 * MiB },
  ]);
  assert.deepEqual(screen(plain(s.text())), [
    '[image pull 0.0s] resolve: reg/app:1 (0s)',
    '[image pull 0.0s] download: 2 layers, 40.0M (sha256:abcd) (0s)',
    '[image pull 0.0s] download: layers 0/2 · 10.0/40.0 MiB · 25% (0s)',
    '  layer 1/2 · 4.0/10.0 MiB',
    '  layer 2/2 · 6.0/30.0 MiB',
  ]);
  tick(2000);
  p.onProgress('download', undefined, [
    { received: 10 * MiB, total: 10 * MiB },
    { received: 20 * MiB, total: 30 * MiB },
  ]);
  // Layer 1 is done: its line goes, the block shrinks and nothing is left below it.
  assert.deepEqual(screen(plain(s.text())).slice(2), [
    '[image pull 2.0s] download: layers 1/2 · 30.0/40.0 MiB · 75% (2s)',
    '  layer 2/2 · 20.0/30.0 MiB',
  ]);
  tick(1000);
  p.onProgress('flatten', '2 layers');
  p.done();
  assert.deepEqual(screen(plain(s.text())), [
    '[image pull 0.0s] resolve: reg/app:1 (0s)',
    '[image pull 0.0s] download: 2 layers, 40.0M (sha256:abcd) (0s)',
    '[image pull 3.0s] download: layers 1/2 · 30.0/40.0 MiB · 75% (3s)',
    '  layer 2/2 · 20.0/30.0 MiB',
    '[image pull 3.0s] flatten: 2 layers (0s)',
    '',
  ]);
});

test('a terminal redraws a layer download at most every 100 ms', () => {
  const s = stream(true);
  let clock = 0;
  const p = new ProgressRenderer('image pull', s.out, () => clock);
  const layers = (n: number) => [{ received: n * MiB, total: 100 * MiB }];
  p.onProgress('download', 'layer 1/1: 1.0M of 100.0M', layers(1));
  const before = s.writes.length;
  for (let n = 2; n <= 21; n++) {
    clock += 10;
    p.onProgress('download', undefined, layers(n));
  }
  assert.equal(s.writes.length - before, 2, '200 ms of refreshes: two redraws');
  // Ending the stage draws the last numbers, whenever they came.
  p.done();
  assert.deepEqual(screen(plain(s.text())), [
    '[image pull 0.2s] download: layers 0/1 · 21.0/100.0 MiB · 21% (0s)',
    '  layer 1/1 · 21.0/100.0 MiB',
    '',
  ]);
});

test('a terminal keeps the whole pull readable: the same stages end up on screen', () => {
  const s = stream(true);
  let clock = 0;
  pull(new ProgressRenderer('image pull', s.out, () => clock), (ms) => (clock += ms));
  assert.deepEqual(screen(plain(s.text())), [
    '[image pull 0.0s] resolve: reg/app:1 (0s)',
    '[image pull 0.0s] download: 2 layers, 40.0M (sha256:abcd) (0s)',
    '[image pull 1.8s] download: layers 2/2 · 40.0/40.0 MiB · 100% (2s)',
    '[image pull 1.8s] flatten: 2 layers (0s)',
    '',
  ]);
});
