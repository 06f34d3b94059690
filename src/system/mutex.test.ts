import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KeyedMutex, Mutex } from './mutex.js';

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a mutex runs holders one at a time, in order, past failures', async () => {
  const m = new Mutex();
  const log: string[] = [];
  const job = (name: string, fail = false) =>
    m.run(async () => {
      log.push(`${name} in`);
      await tick(10);
      log.push(`${name} out`);
      if (fail) throw new Error(name);
      return name;
    });
  const results = await Promise.allSettled([job('a'), job('b', true), job('c')]);
  assert.deepEqual(log, ['a in', 'a out', 'b in', 'b out', 'c in', 'c out']);
  assert.deepEqual(
    results.map((r) => r.status),
    ['fulfilled', 'rejected', 'fulfilled'],
  );
});

test('keyed mutexes serialise per key only, and forget idle keys', async () => {
  const k = new KeyedMutex();
  let concurrent = 0;
  let peak = 0;
  const job = (key: string) =>
    k.run(key, async () => {
      peak = Math.max(peak, ++concurrent);
      await tick(10);
      concurrent--;
    });
  await Promise.all([job('x'), job('x'), job('y')]);
  assert.equal(peak, 2, 'x and y overlap, the two x do not');
  assert.equal(k.held('x'), false);
});
