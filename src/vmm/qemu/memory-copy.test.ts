import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FILE_PAGE, GAP_PAGES, pageRuns, PRESENT, RUN_PAGES, SWAPPED } from './memory-copy.js';

function flags(pages: number, set: Record<number, number>): Uint32Array {
  const f = new Uint32Array(pages);
  for (const [i, v] of Object.entries(set)) f[Number(i)] = v;
  return f;
}

test('pageRuns: anonymous RAM — present and swapped pages, small gaps read through', () => {
  const f = flags(4000, { 3: PRESENT, 5: PRESENT, 6: SWAPPED, 1000: PRESENT });
  assert.deepEqual(pageRuns(f, 'own-pages'), [
    [3, 7],
    [1000, 1001],
  ]);
  // A gap longer than GAP_PAGES splits the run.
  const far = flags(4000, { 0: PRESENT, [GAP_PAGES + 2]: PRESENT });
  assert.deepEqual(pageRuns(far, 'own-pages'), [
    [0, 1],
    [GAP_PAGES + 2, GAP_PAGES + 3],
  ]);
  assert.deepEqual(pageRuns(flags(10, {}), 'own-pages'), [], 'an untouched guest reads nothing');
});

test('pageRuns: over a copied RAM file only the pages the guest wrote', () => {
  const f = flags(100, { 1: PRESENT | FILE_PAGE, 2: PRESENT, 3: SWAPPED, 50: PRESENT | FILE_PAGE });
  assert.deepEqual(pageRuns(f, 'written-pages'), [[2, 4]]);
});

test('pageRuns: a removed RAM file — every page, in runs of at most RUN_PAGES', () => {
  const runs = pageRuns(flags(RUN_PAGES * 2 + 3, {}), 'all-pages');
  assert.deepEqual(runs, [
    [0, RUN_PAGES],
    [RUN_PAGES, RUN_PAGES * 2],
    [RUN_PAGES * 2, RUN_PAGES * 2 + 3],
  ]);
});
