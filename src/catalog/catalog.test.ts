import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BangerError, ErrorCode } from '../errors.js';
import { formatCatalog, parseCatalog } from './catalog.js';
import { EMBEDDED_IMAGES, EMBEDDED_KERNELS } from './embedded.js';

const SHA = 'a'.repeat(64);
const ok = {
  name: 'team-base',
  tarball_url: 'https://example.test/b.tar.zst',
  tarball_sha256: SHA,
};

function catalogWith(...entries: unknown[]): string {
  return JSON.stringify({ version: 1, entries });
}

test('a full entry is read into camelCase fields', () => {
  const text = catalogWith(
    { name: 'first', recipe: 'debian-bookworm' },
    {
      name: 'team-base',
      distro: 'debian',
      arch: 'x86_64',
      kernel_ref: 'generic-6-12',
      kernel_version: '6.12.1',
      description: 'our base',
      tarball_url: 'https://example.test/team-base.tar.zst',
      tarball_sha256: SHA,
      size_bytes: 1234,
    },
    { name: 'from-file', tarball_url: '/srv/bundles/x.tar.zst', tarball_sha256: SHA },
    { name: 'from-file-url', tarball_url: 'file:///srv/x.tar.zst', tarball_sha256: SHA },
  );
  const catalog = parseCatalog(text, '/x.json');
  assert.deepEqual(catalog.entries[0], { name: 'first', recipe: 'debian-bookworm' });
  assert.deepEqual(catalog.entries[1], {
    name: 'team-base',
    distro: 'debian',
    arch: 'x86_64',
    kernelRef: 'generic-6-12',
    kernelVersion: '6.12.1',
    description: 'our base',
    tarballUrl: 'https://example.test/team-base.tar.zst',
    tarballSha256: SHA,
    sizeBytes: 1234,
  });
  assert.equal(catalog.entries.length, 4);
  assert.deepEqual(parseCatalog(formatCatalog(catalog), 'again'), catalog);
  assert.deepEqual(parseCatalog('{"version": 1, "entries": []}', 'empty').entries, []);
});

test('the embedded catalogs are valid catalog files', () => {
  for (const catalog of [EMBEDDED_IMAGES, EMBEDDED_KERNELS]) {
    assert.deepEqual(parseCatalog(formatCatalog(catalog), 'embedded'), catalog);
  }
  assert.equal(EMBEDDED_IMAGES.entries[0]?.kernelRef, EMBEDDED_KERNELS.entries[0]?.name);
  assert.ok(Object.isFrozen(EMBEDDED_IMAGES.entries));
});

const invalid: [string, string, RegExp][] = [
  ['not JSON', '{"version": 1,', /^catalog \/x\.json: not valid JSON: /],
  ['an array', '[]', /^catalog \/x\.json: expected object, got an array$/],
  ['no version', '{"entries": []}', /: version: required key is missing$/],
  ['version 2', '{"version": 2, "entries": []}', /: version: must be 1$/],
  ['no entries', '{"version": 1}', /: entries: required key is missing$/],
  [
    'entries not an array',
    '{"version": 1, "entries": {}}',
    /: entries: expected array, got an object$/,
  ],
  ['unknown top-level key', '{"version": 1, "entries": [], "extra": 1}', /unknown key "extra"$/],
  [
    'unknown entry key',
    catalogWith(ok, ok, { ...ok, name: 'x', tarbal_url: 'y' }),
    /: unknown key "entries\[2\]\.tarbal_url"$/,
  ],
  ['entry not an object', catalogWith('x'), /: entries\[0\]: expected object, got "x"$/],
  ['missing name', catalogWith({ distro: 'debian' }), /: entries\[0\]\.name: required key/],
  ['name not a string', catalogWith({ name: 5 }), /: entries\[0\]\.name: expected string, got 5$/],
  [
    'bad name',
    catalogWith({ name: 'Team_Base' }),
    /entries\[0\]\.name: "Team_Base" is not a valid/,
  ],
  [
    'sha256 uppercase',
    catalogWith(ok, ok, { ...ok, name: 'c', tarball_sha256: 'A'.repeat(64) }),
    /^catalog \/x\.json: entries\[2\]\.tarball_sha256: must be 64 lowercase hex digits$/,
  ],
  [
    'sha256 short',
    catalogWith({ ...ok, tarball_sha256: 'abc' }),
    /entries\[0\]\.tarball_sha256: must be 64 lowercase hex/,
  ],
  [
    'url without sha256',
    catalogWith({ name: 'a', tarball_url: 'https://example.test/a' }),
    /entries\[0\]\.tarball_sha256: required when tarball_url is set/,
  ],
  [
    'relative path url',
    catalogWith({ ...ok, tarball_url: 'bundles/a.tar.zst' }),
    /entries\[0\]\.tarball_url: must be an http\(s\) URL, a file:\/\/ URL or an absolute path$/,
  ],
  ['ftp url', catalogWith({ ...ok, tarball_url: 'ftp://example.test/a' }), /tarball_url: must be/],
  ['empty url', catalogWith({ ...ok, tarball_url: '' }), /tarball_url: must be/],
  ['negative size', catalogWith({ ...ok, size_bytes: -1 }), /size_bytes: must not be negative$/],
  [
    'fractional size',
    catalogWith({ ...ok, size_bytes: 1.5 }),
    /entries\[0\]\.size_bytes: expected a whole number, got 1\.5$/,
  ],
  [
    'size as text',
    catalogWith({ ...ok, size_bytes: '1G' }),
    /size_bytes: expected number, got "1G"$/,
  ],
  [
    'bad kernel_ref',
    catalogWith({ ...ok, kernel_ref: 'a/b' }),
    /kernel_ref: "a\/b" is not a valid/,
  ],
  ['bad recipe', catalogWith({ name: 'a', recipe: '../x' }), /recipe: "\.\.\/x" is not a valid/],
  ['empty distro', catalogWith({ name: 'a', distro: '' }), /entries\[0\]\.distro: must not be/],
  ['duplicate name', catalogWith(ok, { name: 'team-base' }), /entries\[1\]\.name: team-base is/],
];

for (const [label, text, message] of invalid) {
  test(`a catalog with ${label} is rejected naming the source and key`, () => {
    assert.throws(
      () => parseCatalog(text, '/x.json'),
      (err: unknown) => {
        assert.ok(err instanceof BangerError);
        assert.equal(err.code, ErrorCode.Config);
        assert.match(err.message, /^catalog \/x\.json: /);
        assert.match(err.message, message);
        return true;
      },
    );
  });
}
