import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, test } from 'node:test';
import { BangerError, ErrorCode } from '../errors.js';
import { download } from './download.js';
import { closeLocal, listenLocal } from '../../test/helpers/local-server.js';

const blob = randomBytes(300 * 1024 + 7);
const blobSha = createHash('sha256').update(blob).digest('hex');

let base = '';
let dir = '';
const server = createServer((req, res) => {
  switch (req.url) {
    case '/blob':
      res.writeHead(200, { 'content-length': blob.length }).end(blob);
      return;
    case '/chunked': // no content-length: only the catalog's size can tell a short body
      res.write(blob.subarray(0, 500));
      res.end();
      return;
    case '/truncated':
      // Declares 1000 bytes, sends 500, then drops the connection.
      res.writeHead(200, { 'content-length': 1000 });
      res.write(blob.subarray(0, 500), () => res.socket?.destroy());
      return;
    case '/redirect':
      res.writeHead(301, { location: '/blob' }).end();
      return;
    default:
      res.writeHead(404).end('no such file');
  }
});

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'banger-download-'));
  base = await listenLocal(server);
});

after(async () => {
  await closeLocal(server);
  await rm(dir, { recursive: true, force: true });
});

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

async function failure(url: string, dest: string, options = {}): Promise<BangerError> {
  const err = await download(url, dest, options).catch((e: unknown) => e);
  assert.ok(err instanceof BangerError, `expected a BangerError, got ${String(err)}`);
  assert.equal(await exists(dest), false, 'the partial download is removed');
  return err;
}

test('a download streams to disk, hashing, and reports progress', async () => {
  const dest = join(dir, 'ok.bin');
  const progress: [number, number | undefined][] = [];
  const result = await download(`${base}/blob`, dest, {
    sha256: blobSha,
    expectedBytes: blob.length,
    onProgress: (received, total) => progress.push([received, total]),
  });
  assert.deepEqual(result, { sha256: blobSha, bytes: blob.length });
  assert.ok((await readFile(dest)).equals(blob));
  assert.deepEqual(progress.at(-1), [blob.length, blob.length]);
  assert.ok(progress.length > 1, 'progress is reported while the body arrives');

  const redirected = await download(`${base}/redirect`, join(dir, 'r.bin'), { sha256: blobSha });
  assert.equal(redirected.bytes, blob.length);
});

test('a local path or file:// URL is copied and checked the same way', async () => {
  const src = join(dir, 'source.bin');
  await writeFile(src, blob);
  for (const url of [src, pathToFileURL(src).href]) {
    const dest = join(dir, 'copy.bin');
    assert.deepEqual(await download(url, dest, { sha256: blobSha }), {
      sha256: blobSha,
      bytes: blob.length,
    });
    await rm(dest);
  }
  const err = await failure(src, join(dir, 'copy.bin'), { expectedBytes: 10 });
  assert.match(err.message, /the source has 307207 bytes, the catalog says 10$/);
});

test('an HTTP error status is an error naming the URL and status', async () => {
  const err = await failure(`${base}/nope.tar.zst`, join(dir, 'nope.bin'));
  assert.equal(err.code, ErrorCode.Config);
  assert.equal(err.message, `download ${base}/nope.tar.zst: HTTP status 404`);
});

test('a truncated body is an error and leaves no file', async () => {
  const err = await failure(`${base}/truncated`, join(dir, 't.bin'));
  assert.equal(err.message, `download ${base}/truncated: truncated: received 500 of 1000 bytes`);

  const short = await failure(`${base}/chunked`, join(dir, 'c.bin'), { expectedBytes: 1000 });
  assert.match(short.message, /chunked: truncated: received 500 of 1000 bytes$/);

  const long = await failure(`${base}/chunked`, join(dir, 'c.bin'), { expectedBytes: 100 });
  assert.match(long.message, /chunked: more than the expected 100 bytes$/);

  const declared = await failure(`${base}/blob`, join(dir, 'd.bin'), { expectedBytes: 1 });
  assert.match(declared.message, /blob: the source has 307207 bytes, the catalog says 1$/);
});

test('a sha256 mismatch is an error and the file is removed', async () => {
  const wrong = '0'.repeat(64);
  const err = await failure(`${base}/blob`, join(dir, 's.bin'), { sha256: wrong });
  assert.equal(err.message, `sha256 mismatch for ${base}/blob: expected ${wrong}, got ${blobSha}`);
});

test('a cancelled download is reported as cancelled', async () => {
  const ac = new AbortController();
  ac.abort();
  const err = await failure(`${base}/blob`, join(dir, 'x.bin'), { signal: ac.signal });
  assert.equal(err.code, ErrorCode.Cancelled);
});
