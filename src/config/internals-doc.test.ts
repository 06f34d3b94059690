import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { everyName } from './layout.js';

// docs/internals.md is the list of every file banger writes on the host. It must name
// exactly the names src/config/layout.ts gives: no file banger writes goes undocumented,
// and the doc lists no file that no code writes.

/** The names in the first column of the host-side tables (config, state, cache, runtime). */
function documentedNames(doc: string): Set<string> {
  const host = doc.slice(0, doc.indexOf('## Inside a VM'));
  const names = new Set<string>();
  for (const line of host.split('\n')) {
    if (!line.startsWith('| `')) continue;
    const first = line.split('|')[1] ?? '';
    for (const [, path] of first.matchAll(/`([^`]+)`/g))
      for (const part of path!.split('/')) {
        const name = part.replace(/\*.*$/, '').replace(/<[^>]+>/g, '');
        if (name !== '' && name !== '-wal' && name !== '-shm') names.add(name);
      }
  }
  return names;
}

test('docs/internals.md lists exactly the names the layout module gives', async () => {
  const doc = await readFile(new URL('../../docs/internals.md', import.meta.url), 'utf8');
  const documented = documentedNames(doc);
  const named = new Set(
    Object.values(everyName()).flatMap((group) =>
      Object.values(group).flatMap((n) => n.split('/')),
    ),
  );
  // `.pub` is the key's other half, `tree` a build's scratch tree, `.ext4` a kernel's modules
  // disk after its id: spelled as suffixes.
  const derived = new Set([
    'id_ed25519.pub',
    'tree',
    '.partial',
    '.guest-kit-3.ext4..staging',
    '.ext4',
  ]);
  const undocumented = [...named].filter((n) => !documented.has(n));
  const unknown = [...documented].filter((n) => !named.has(n) && !derived.has(n));
  assert.deepEqual(undocumented, [], 'named in layout.ts but not in docs/internals.md');
  assert.deepEqual(unknown, [], 'in docs/internals.md but named nowhere in layout.ts');
});
