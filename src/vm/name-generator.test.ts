import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isValidName } from '../config/names.js';
import { generateName, NAME_WORDS } from './name-generator.js';

test('generated names are adjective-noun DNS labels', () => {
  for (let i = 0; i < 200; i++) {
    const name = generateName(new Set());
    assert.ok(isValidName(name), name);
    const [adjective, noun] = name.split('-');
    assert.ok((NAME_WORDS.adjectives as readonly string[]).includes(adjective!), name);
    assert.ok((NAME_WORDS.nouns as readonly string[]).includes(noun!), name);
  }
});

test('a generated name is never one already taken, even when every pair is', () => {
  const all = new Set(
    NAME_WORDS.adjectives.flatMap((a) => NAME_WORDS.nouns.map((n) => `${a}-${n}`)),
  );
  const name = generateName(all);
  assert.ok(!all.has(name));
  assert.match(name, /^[a-z]+-[a-z]+-\d{4}$/);
  assert.ok(isValidName(name));
});
