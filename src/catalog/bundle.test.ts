import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { access, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { after, before, test } from 'node:test';
import tar from 'tar-stream';
import { BangerError, ErrorCode } from '../errors.js';
import { realRunner, type Runner } from '../system/runner.js';
import { extractBundle, packBundle, type BundleManifest } from './bundle.js';
import { download } from './download.js';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'banger-bundle-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const sha256 = async (path: string) => {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
};

interface Member {
  name: string;
  body?: string | Buffer;
  type?: 'file' | 'symlink' | 'directory' | 'link';
  linkname?: string;
}

/** A .tar.zst holding exactly `members`, built the way an attacker could. */
async function tarZst(file: string, members: Member[]): Promise<string> {
  const pack = tar.pack();
  for (const m of members) {
    const body = m.body ?? '';
    pack.entry({ name: m.name, type: m.type ?? 'file', linkname: m.linkname ?? '' }, body);
  }
  pack.finalize();
  const zstd = realRunner.stream('zstd', ['-3', '-c']);
  await Promise.all([
    pipeline(pack, zstd.stdin),
    pipeline(zstd.stdout, createWriteStream(file)),
    zstd.done,
  ]);
  return file;
}

const manifestJson = JSON.stringify({ name: 'team-base', distro: 'debian' });
const rootfs: Member = { name: 'rootfs.ext4', body: randomBytes(4096) };
const manifest: Member = { name: 'manifest.json', body: manifestJson };

async function stagingDir(label: string): Promise<string> {
  const staging = join(dir, `staging-${label.replace(/\W+/g, '-')}`);
  await mkdir(staging);
  return staging;
}

test('a packed bundle served over HTTP downloads and extracts to the same rootfs', async () => {
  // An ext4-like file: data, a long run of zeros (left as a hole on extract), more data.
  const rootfsFile = join(dir, 'in.ext4');
  await writeFile(
    rootfsFile,
    Buffer.concat([randomBytes(1 << 20), Buffer.alloc(16 << 20), randomBytes(12345)]),
  );
  const wanted: BundleManifest = {
    name: 'team-base',
    distro: 'debian',
    arch: 'x86_64',
    kernelRef: 'debian-bookworm-cloud',
    description: 'a test image',
  };
  const bundle = join(dir, 'team-base.tar.zst');
  const packed = await packBundle(rootfsFile, wanted, bundle, realRunner);
  assert.equal(packed.bytes, (await stat(bundle)).size);
  assert.equal(packed.sha256, await sha256(bundle));
  assert.equal(await access(`${bundle}.tmp`).catch(() => 'gone'), 'gone');

  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-length': packed.bytes });
    createReadStream(bundle).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/team-base.tar.zst`;
    const fetched = join(dir, 'fetched.tar.zst');
    const got = await download(url, fetched, {
      sha256: packed.sha256,
      expectedBytes: packed.bytes,
    });
    assert.equal(got.sha256, packed.sha256);

    const staging = await stagingDir('round-trip');
    const extracted = await extractBundle(fetched, staging, realRunner);
    assert.deepEqual(extracted, wanted);
    assert.deepEqual((await readdir(staging)).sort(), ['manifest.json', 'rootfs.ext4']);
    const out = join(staging, 'rootfs.ext4');
    assert.equal(await sha256(out), await sha256(rootfsFile));
    const { size, blocks } = await stat(out);
    assert.ok(blocks * 512 < size - (8 << 20), `zeros are written as a hole (${blocks} blocks)`);
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

test('members named ./rootfs.ext4 and ./manifest.json are accepted', async () => {
  const file = await tarZst(join(dir, 'dot.tar.zst'), [
    { ...manifest, name: './manifest.json' },
    { ...rootfs, name: './rootfs.ext4' },
  ]);
  const staging = await stagingDir('dot');
  assert.deepEqual(await extractBundle(file, staging, realRunner), {
    name: 'team-base',
    distro: 'debian',
  });
  assert.ok((await readFile(join(staging, 'rootfs.ext4'))).equals(rootfs.body as Buffer));
});

const malicious: [string, Member[] | ((file: string) => Promise<void>), RegExp][] = [
  [
    'an extra member',
    [rootfs, manifest, { name: 'extra.sh', body: 'echo hi' }],
    /unexpected member "extra\.sh"$/,
  ],
  [
    'a parent path',
    [manifest, { ...rootfs, name: '../rootfs.ext4' }],
    /unsafe member path "\.\.\/rootfs\.ext4"$/,
  ],
  [
    'an absolute path',
    [manifest, { ...rootfs, name: '/rootfs.ext4' }],
    /unsafe member path "\/rootfs\.ext4"$/,
  ],
  [
    'a symlink rootfs',
    [manifest, { name: 'rootfs.ext4', type: 'symlink', linkname: '/etc/shadow' }],
    /rootfs\.ext4 is a symlink, not a regular file$/,
  ],
  [
    'a hard-linked rootfs',
    [manifest, { name: 'rootfs.ext4', type: 'link', linkname: 'manifest.json' }],
    /rootfs\.ext4 is a hard link, not a regular file$/,
  ],
  [
    'a directory member',
    [manifest, { name: 'rootfs.ext4/', type: 'directory' }],
    /rootfs\.ext4 is a directory, not a regular file$/,
  ],
  ['a duplicate member', [manifest, rootfs, rootfs], /rootfs\.ext4 appears twice$/],
  ['a missing manifest', [rootfs], /missing member manifest\.json$/],
  ['a missing rootfs', [manifest], /missing member rootfs\.ext4$/],
  [
    'invalid manifest JSON',
    [rootfs, { name: 'manifest.json', body: '{"name": ' }],
    /manifest\.json: not valid JSON: /,
  ],
  [
    'a manifest with a bad name',
    [rootfs, { name: 'manifest.json', body: '{"name": "../etc"}' }],
    /manifest\.json: name: "\.\.\/etc" is not a valid image name/,
  ],
  [
    'a manifest with an unknown key',
    [rootfs, { name: 'manifest.json', body: '{"name": "a", "kernel": "x"}' }],
    /manifest\.json: kernel: unknown key$/,
  ],
  [
    'a huge manifest',
    [rootfs, { name: 'manifest.json', body: Buffer.alloc(100_000, 0x20) }],
    /manifest\.json: larger than 65536 bytes$/,
  ],
  [
    'a truncated .tar.zst',
    async (file) => {
      const whole = join(dir, 'whole.tar.zst');
      await tarZst(whole, [manifest, { ...rootfs, body: randomBytes(1 << 20) }]);
      const data = await readFile(whole);
      await writeFile(file, data.subarray(0, Math.floor(data.length / 2)));
    },
    /truncated or corrupt zstd stream: .*/,
  ],
  [
    'a file that is not zstd',
    (file) => writeFile(file, 'just some text\n'.repeat(100)),
    /truncated or corrupt zstd stream/,
  ],
  [
    'zstd data that is not a tar',
    async (file) => {
      const zstd = realRunner.stream('zstd', ['-c']);
      zstd.stdin.end(randomBytes(10_000));
      await Promise.all([pipeline(zstd.stdout, createWriteStream(file)), zstd.done]);
    },
    /corrupt tar archive: Invalid tar header$/,
  ],
];

for (const [label, make, message] of malicious) {
  test(`a bundle with ${label} is rejected and the staging dir left empty`, async () => {
    const file = join(dir, `${label.replace(/\W+/g, '-')}.tar.zst`);
    if (typeof make === 'function') await make(file);
    else await tarZst(file, make);
    const staging = await stagingDir(label);
    const err = await extractBundle(file, staging, realRunner).catch((e: unknown) => e);
    assert.ok(err instanceof BangerError, `expected a BangerError, got ${String(err)}`);
    assert.equal(err.code, ErrorCode.Config);
    assert.match(err.message, new RegExp(`^bundle ${file}: `));
    assert.match(err.message, message);
    assert.deepEqual(await readdir(staging), []);
    assert.equal(await access(join(dir, 'rootfs.ext4')).catch(() => 'absent'), 'absent');
  });
}

test('a cancelled extraction is reported as cancelled and leaves nothing', async () => {
  const file = await tarZst(join(dir, 'cancel.tar.zst'), [manifest, rootfs]);
  const staging = await stagingDir('cancel');
  const ac = new AbortController();
  ac.abort();
  const err = await extractBundle(file, staging, realRunner, { signal: ac.signal }).catch(
    (e: unknown) => e,
  );
  assert.ok(err instanceof BangerError);
  assert.equal(err.code, ErrorCode.Cancelled);
  assert.deepEqual(await readdir(staging), []);
});

test('a missing bundle file is an error naming it', async () => {
  const staging = await stagingDir('missing-file');
  await assert.rejects(
    extractBundle(join(dir, 'nope.tar.zst'), staging, realRunner),
    /^BangerError: bundle .*nope\.tar\.zst: cannot read: ENOENT/,
  );
});

test('packBundle leaves no partial bundle when compression fails', async () => {
  const rootfsFile = join(dir, 'small.ext4');
  await writeFile(rootfsFile, randomBytes(300_000));
  // sh stands in for a zstd that dies halfway: it reads some input and exits 3.
  const failing: Runner = {
    run: (file, args, options) => realRunner.run(file, args, options),
    stream: () => realRunner.stream('sh', ['-c', 'head -c 1000 >/dev/null; echo boom >&2; exit 3']),
  };
  const out = join(dir, 'broken.tar.zst');
  await assert.rejects(packBundle(rootfsFile, { name: 'x' }, out, failing), /exited 3: boom/);
  assert.deepEqual(
    (await readdir(dir)).filter((f) => f.startsWith(basename(out))),
    [],
  );
  await assert.rejects(
    packBundle(rootfsFile, { name: 'Not Valid' }, out, realRunner),
    /bundle manifest: name: "Not Valid" is not a valid image name/,
  );
});
