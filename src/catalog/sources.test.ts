import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type RequestListener } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { BangerError, ErrorCode } from '../errors.js';
import { EMBEDDED_SOURCE } from './embedded.js';
import { findEntry, loadCatalogs } from './sources.js';
import { closeLocal, listenLocal } from '../../test/helpers/local-server.js';

const SHA = 'b'.repeat(64);
const teamCatalog = JSON.stringify({
  version: 1,
  entries: [
    {
      name: 'debian-bookworm',
      tarball_url: 'https://example.test/db.tar.zst',
      tarball_sha256: SHA,
    },
    { name: 'team-base', tarball_url: 'https://example.test/tb.tar.zst', tarball_sha256: SHA },
  ],
});

const routes: Record<string, RequestListener> = {
  '/team.json': (_req, res) => res.end(teamCatalog),
  '/moved.json': (_req, res) => res.writeHead(302, { location: '/team.json' }).end(),
  '/broken.json': (_req, res) => res.end('{"version": 1, "entries": [{"name": "Bad"}]}'),
  '/huge.json': (_req, res) => {
    // Chunked, no content-length: the limit must hold while reading.
    const chunk = Buffer.alloc(1024 * 1024, 0x20);
    for (let i = 0; i < 5; i++) res.write(chunk);
    res.end('{}');
  },
  '/slow.json': () => undefined, // never answers
};

let base = '';
let dir = '';
const server = createServer((req, res) => {
  const route = routes[req.url ?? ''];
  if (route) route(req, res);
  else res.writeHead(404).end('not here');
});

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'banger-sources-'));
  base = await listenLocal(server);
});

after(async () => {
  await closeLocal(server);
  await rm(dir, { recursive: true, force: true });
});

async function loadError(sources: string[], timeoutMs?: number): Promise<BangerError> {
  const options = timeoutMs === undefined ? {} : { fetchTimeoutMs: timeoutMs };
  const err = await loadCatalogs('images', sources, options).catch((e: unknown) => e);
  assert.ok(err instanceof BangerError, `expected a BangerError, got ${String(err)}`);
  return err;
}

test('config catalogs come first, in order, and the embedded one last', async () => {
  const file = join(dir, 'local.json');
  await writeFile(
    file,
    JSON.stringify({ version: 1, entries: [{ name: 'team-base', recipe: 'debian-bookworm' }] }),
  );
  const catalogs = await loadCatalogs('images', [file, `${base}/team.json`]);
  assert.deepEqual(
    catalogs.map((c) => c.source),
    [file, `${base}/team.json`, EMBEDDED_SOURCE],
  );
  // The first catalog holding a name wins: a team catalog shadows the embedded entry.
  assert.equal(findEntry(catalogs, 'team-base')?.source, file);
  const db = findEntry(catalogs, 'debian-bookworm');
  assert.equal(db?.source, `${base}/team.json`);
  assert.equal(db?.entry.tarballSha256, SHA);
  assert.equal(findEntry(catalogs, 'no-such-image'), undefined);

  const embeddedOnly = await loadCatalogs('images', []);
  assert.equal(findEntry(embeddedOnly, 'debian-bookworm')?.entry.recipe, 'debian-bookworm');
  const kernels = await loadCatalogs('kernels', [`file://${file}`]);
  assert.equal(findEntry(kernels, 'debian-bookworm-cloud')?.source, EMBEDDED_SOURCE);
});

test('a catalog URL that redirects is followed', async () => {
  const catalogs = await loadCatalogs('images', [`${base}/moved.json`]);
  assert.equal(findEntry(catalogs, 'team-base')?.source, `${base}/moved.json`);
});

test('a source that cannot be loaded is an error naming it, not skipped', async () => {
  const missing = await loadError([`${base}/team.json`, `${base}/gone.json`]);
  assert.equal(missing.code, ErrorCode.Config);
  assert.equal(missing.message, `catalog ${base}/gone.json: cannot load: HTTP status 404`);

  const noFile = await loadError([join(dir, 'nope.json')]);
  assert.match(noFile.message, /^catalog \/.*\/nope\.json: cannot load: ENOENT/);

  const invalid = await loadError([`${base}/broken.json`]);
  assert.match(
    invalid.message,
    /^catalog http:\/\/127\.0\.0\.1:\d+\/broken\.json: entries\[0\]\.name/,
  );

  const huge = await loadError([`${base}/huge.json`]);
  assert.match(huge.message, /huge\.json: cannot load: larger than the 4M limit$/);

  const slow = await loadError([`${base}/slow.json`], 200);
  assert.match(slow.message, /slow\.json: cannot load: timed out after 200 ms$/);
});

test('cancelling the load is reported as cancelled', async () => {
  const ac = new AbortController();
  const pending = loadCatalogs('images', [`${base}/slow.json`], { signal: ac.signal });
  setTimeout(() => ac.abort(), 50);
  await assert.rejects(pending, (err: unknown) => {
    assert.ok(err instanceof BangerError);
    assert.equal(err.code, ErrorCode.Cancelled);
    return true;
  });
});
