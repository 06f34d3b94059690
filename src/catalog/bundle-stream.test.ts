// fetchBundle: a bundle is extracted while it downloads, and nothing survives a failed check.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';
import { after, before, test } from 'node:test';
import tar from 'tar-stream';
import { BangerError, ErrorCode } from '../errors.js';
import { realRunner } from '../system/runner.js';
import { fetchBundle, packBundle, type BundleManifest } from './bundle.js';
import { closeLocal, listenLocal } from '../../test/helpers/local-server.js';

let dir = '';
let base = '';
let good: Buffer = Buffer.alloc(0);
let goodSha = '';
let evil: Buffer = Buffer.alloc(0);
let rootfsData: Buffer = Buffer.alloc(0);
/** How each response to /stall ended: "finished" or "aborted" (the client hung up). */
const stallEnds: string[] = [];

const wanted: BundleManifest = { name: 'team-base', distro: 'debian', kernelRef: 'k1' };

function sendAll(res: ServerResponse, data: Buffer, headers: Record<string, number> = {}) {
  res.writeHead(200, { 'content-length': data.length, ...headers }).end(data);
}

const server = createServer((req, res) => {
  switch (req.url) {
    case '/good.tar.zst':
      sendAll(res, good);
      return;
    case '/truncated.tar.zst':
      // Declares the whole bundle, sends half of it, then drops the connection.
      res.writeHead(200, { 'content-length': good.length });
      res.write(good.subarray(0, good.length >> 1), () => res.socket?.destroy());
      return;
    case '/chunked-short.tar.zst': // no content-length: only the catalog's size tells
      res.write(good.subarray(0, good.length >> 1));
      res.end();
      return;
    case '/evil.tar.zst':
      sendAll(res, evil);
      return;
    case '/stall':
      // The whole malicious bundle, then nothing: only the client hanging up ends this.
      res.on('close', () => stallEnds.push(res.writableFinished ? 'finished' : 'aborted'));
      res.writeHead(200, { 'content-length': evil.length + (64 << 20) });
      res.write(evil);
      return;
    case '/slow-good':
      // The good bundle's first bytes, then nothing (for cancelling mid-transfer).
      res.writeHead(200, { 'content-length': good.length });
      res.write(good.subarray(0, 4096));
      return;
    default:
      res.writeHead(404).end();
  }
});

/** A .tar.zst holding exactly these members, built the way an attacker could. */
async function tarZst(members: { name: string; body: Buffer | string }[]): Promise<Buffer> {
  const pack = tar.pack();
  for (const m of members) pack.entry({ name: m.name }, m.body);
  pack.finalize();
  const zstd = realRunner.stream('zstd', ['-3', '-c']);
  const chunks: Buffer[] = [];
  await Promise.all([
    pipeline(pack, zstd.stdin),
    (async () => {
      for await (const chunk of zstd.stdout) chunks.push(chunk as Buffer);
    })(),
    zstd.done,
  ]);
  return Buffer.concat(chunks);
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'banger-bundle-stream-'));
  rootfsData = Buffer.concat([randomBytes(1 << 20), Buffer.alloc(16 << 20), randomBytes(4321)]);
  await writeFile(join(dir, 'in.ext4'), rootfsData);
  const packed = await packBundle(
    join(dir, 'in.ext4'),
    wanted,
    join(dir, 'good.tar.zst'),
    realRunner,
  );
  good = await readFile(join(dir, 'good.tar.zst'));
  goodSha = packed.sha256;
  // A valid manifest, then a member that has no place in a bundle, big enough that zstd
  // flushes its header long before the end of the download.
  evil = await tarZst([
    { name: 'manifest.json', body: JSON.stringify({ name: 'team-base' }) },
    { name: 'extra.sh', body: randomBytes(2 << 20) },
    { name: 'rootfs.ext4', body: randomBytes(4096) },
  ]);
  base = await listenLocal(server);
});

after(async () => {
  await closeLocal(server);
  await rm(dir, { recursive: true, force: true });
});

let n = 0;
async function destDir(): Promise<string> {
  const d = join(dir, `dest-${n++}`);
  await mkdir(d);
  return d;
}

async function rejected(promise: Promise<unknown>): Promise<BangerError> {
  const err = await promise.catch((e: unknown) => e);
  assert.ok(err instanceof BangerError, `expected a BangerError, got ${String(err)}`);
  return err;
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

test('a bundle is extracted as it downloads, hashed, with progress', async () => {
  const dest = await destDir();
  const progress: [number, number | undefined][] = [];
  const got = await fetchBundle(`${base}/good.tar.zst`, dest, realRunner, {
    sha256: goodSha,
    expectedBytes: good.length,
    onProgress: (received, total) => progress.push([received, total]),
  });
  assert.deepEqual(got, { sha256: goodSha, bytes: good.length, manifest: wanted });
  assert.deepEqual((await readdir(dest)).sort(), ['manifest.json', 'rootfs.ext4']);
  const out = join(dest, 'rootfs.ext4');
  assert.equal(sha256(await readFile(out)), sha256(rootfsData));
  const { size, blocks } = await stat(out);
  assert.ok(blocks * 512 < size - (8 << 20), `zeros are written as a hole (${blocks} blocks)`);
  assert.deepEqual(progress.at(-1), [good.length, good.length]);
});

test('a local path or file:// URL is streamed and checked the same way', async () => {
  const file = join(dir, 'good.tar.zst');
  for (const url of [file, pathToFileURL(file).href]) {
    const dest = await destDir();
    const got = await fetchBundle(url, dest, realRunner, { sha256: goodSha });
    assert.deepEqual(got.manifest, wanted);
    assert.equal(sha256(await readFile(join(dest, 'rootfs.ext4'))), sha256(rootfsData));
  }
  const dest = await destDir();
  const err = await rejected(fetchBundle(file, dest, realRunner, { sha256: '0'.repeat(64) }));
  assert.match(err.message, /^sha256 mismatch for /);
  assert.deepEqual(await readdir(dest), []);
});

test('a sha256 mismatch after a complete stream is rejected and destDir emptied', async () => {
  const dest = await destDir();
  const wrong = 'f'.repeat(64);
  const err = await rejected(
    fetchBundle(`${base}/good.tar.zst`, dest, realRunner, {
      sha256: wrong,
      expectedBytes: good.length,
    }),
  );
  assert.equal(err.code, ErrorCode.Config);
  assert.equal(
    err.message,
    `sha256 mismatch for ${base}/good.tar.zst: expected ${wrong}, got ${goodSha}`,
  );
  assert.deepEqual(await readdir(dest), [], 'the fully extracted files are removed again');
});

test('a truncated body is rejected as truncated and destDir emptied', async () => {
  const half = good.length >> 1;
  const dest = await destDir();
  const err = await rejected(
    fetchBundle(`${base}/truncated.tar.zst`, dest, realRunner, { sha256: goodSha }),
  );
  assert.equal(err.code, ErrorCode.Config);
  assert.equal(
    err.message,
    `download ${base}/truncated.tar.zst: truncated: received ${half} of ${good.length} bytes`,
  );
  assert.deepEqual(await readdir(dest), []);

  // A body that ends cleanly but short of the catalog's size_bytes.
  const short = await destDir();
  const shortErr = await rejected(
    fetchBundle(`${base}/chunked-short.tar.zst`, short, realRunner, {
      expectedBytes: good.length,
    }),
  );
  assert.match(shortErr.message, /truncated: received \d+ of \d+ bytes$/);
  assert.deepEqual(await readdir(short), []);

  const declared = await destDir();
  const declaredErr = await rejected(
    fetchBundle(`${base}/good.tar.zst`, declared, realRunner, { expectedBytes: 10 }),
  );
  assert.match(declaredErr.message, /the source has \d+ bytes, the catalog says 10$/);
  assert.deepEqual(await readdir(declared), []);
});

test('a malicious member is rejected with the member check', async () => {
  const dest = await destDir();
  const err = await rejected(fetchBundle(`${base}/evil.tar.zst`, dest, realRunner));
  assert.equal(err.code, ErrorCode.Config);
  assert.equal(err.message, `bundle ${base}/evil.tar.zst: unexpected member "extra.sh"`);
  assert.deepEqual(await readdir(dest), [], 'the manifest written before it is removed');
});

test(
  'a malicious member aborts the HTTP request before the download finished',
  {
    timeout: 30_000,
  },
  async () => {
    const dest = await destDir();
    const received: number[] = [];
    const err = await rejected(
      fetchBundle(`${base}/stall`, dest, realRunner, {
        onProgress: (bytes) => received.push(bytes),
      }),
    );
    assert.equal(err.message, `bundle ${base}/stall: unexpected member "extra.sh"`);
    assert.ok((received.at(-1) ?? 0) <= evil.length, 'rejected before the declared end');
    assert.deepEqual(await readdir(dest), []);
    // The server's response ends because the client hung up, not because it was sent.
    for (let i = 0; i < 100 && stallEnds.length === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.deepEqual(stallEnds, ['aborted']);
  },
);

test(
  'a cancelled pull stops a stalled transfer and leaves nothing',
  { timeout: 30_000 },
  async () => {
    const dest = await destDir();
    const ac = new AbortController();
    const pulling = fetchBundle(`${base}/slow-good`, dest, realRunner, {
      signal: ac.signal,
      onProgress: () => setTimeout(() => ac.abort(), 50),
    });
    const err = await rejected(pulling);
    assert.equal(err.code, ErrorCode.Cancelled);
    assert.deepEqual(await readdir(dest), []);
  },
);

test('a corrupt stream from the network is rejected as such', async () => {
  const bad = Buffer.from(good);
  bad.fill(0x55, 200, 4000); // inside the first zstd block
  const file = join(dir, 'corrupt.tar.zst');
  await writeFile(file, bad);
  const dest = await destDir();
  const err = await rejected(fetchBundle(file, dest, realRunner));
  assert.match(err.message, /: (truncated or corrupt zstd stream|corrupt tar archive)/);
  assert.deepEqual(await readdir(dest), []);
});
