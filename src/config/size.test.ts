import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  GiB,
  KiB,
  MiB,
  SizeError,
  TiB,
  formatSize,
  formatSizeApprox,
  parseMemoryMiB,
  parseSize,
} from './size.js';

test('parseSize accepts binary units, suffixes, case and whitespace', () => {
  const cases: [string, number][] = [
    ['512M', 512 * MiB],
    ['8G', 8 * GiB],
    ['1.5G', 1.5 * GiB],
    ['100K', 100 * KiB],
    ['2T', 2 * TiB],
    ['1024', 1024],
    ['1024B', 1024],
    ['0', 0],
    ['8GiB', 8 * GiB],
    ['8GB', 8 * GiB],
    ['8Gi', 8 * GiB],
    ['8gib', 8 * GiB],
    ['512m', 512 * MiB],
    ['  8G\n', 8 * GiB],
    ['8 G', 8 * GiB],
    ['0.5K', 512],
  ];
  for (const [text, bytes] of cases) assert.equal(parseSize(text), bytes, text);
});

test('parseSize rejects what is not a size, naming the input', () => {
  for (const text of [
    '',
    '   ',
    'abc',
    '-1G',
    '-5',
    'G',
    '8X',
    '8GG',
    '1.5',
    '0.1K',
    '8iB',
    '1..5G',
    '9999999999T',
  ]) {
    assert.throws(
      () => parseSize(text),
      (err: unknown) => err instanceof SizeError && err.message.includes(JSON.stringify(text)),
      text,
    );
  }
  assert.throws(() => parseSize('abc'), {
    message: 'invalid size "abc": use a number with an optional unit K, M, G or T, e.g. 512M or 8G',
  });
});

test('formatSize prints the shortest exact form', () => {
  const cases: [number, string][] = [
    [8 * GiB, '8G'],
    [512 * MiB, '512M'],
    [1.5 * GiB, '1.5G'],
    [2560 * MiB, '2.5G'],
    [1536 * MiB + MiB, '1537M'],
    [2 * TiB, '2T'],
    [1024, '1K'],
    [1000, '1000B'],
    [0, '0B'],
    [8 * GiB + 1, '8589934593B'],
  ];
  for (const [bytes, text] of cases) assert.equal(formatSize(bytes), text, String(bytes));
  for (const [, text] of cases.slice(0, 7)) assert.equal(formatSize(parseSize(text)), text);
});

test('parseMemoryMiB takes MiB as a number and whole MiB as a size', () => {
  assert.equal(parseMemoryMiB(2048), 2048);
  assert.equal(parseMemoryMiB('2G'), 2048);
  assert.equal(parseMemoryMiB('1536M'), 1536);
  assert.equal(parseMemoryMiB('1.5GiB'), 1536);
  for (const bad of [0, -1, 1.5, '1500K', '2048', '0M', 'lots']) {
    assert.throws(() => parseMemoryMiB(bad), SizeError, String(bad));
  }
  assert.throws(() => parseMemoryMiB('2048'), /write "2048M"/);
});

test('formatSizeApprox rounds measured amounts to one decimal', () => {
  assert.equal(formatSizeApprox(84822331392), '79.0G');
  assert.equal(formatSizeApprox(1536), '1.5K');
  assert.equal(formatSizeApprox(3 * 1024 ** 4), '3.0T');
  assert.equal(formatSizeApprox(512), '512B');
});
