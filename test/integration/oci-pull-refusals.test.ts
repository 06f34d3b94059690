// Images that cannot boot are refused at pull, through the real CLI and daemon against a real
// docker-registry: another architecture (a single-platform manifest, no index to choose from)
// and no /bin/sh inside the image (symlinks resolved in the image root). Each refusal is one
// line naming the reference and why, publishes nothing and leaves no staging behind.
import assert from 'node:assert/strict';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CacheName } from '../../src/config/layout.js';
import {
  pushImage,
  startRegistry,
  type LayerSpec,
  type TestRegistry,
} from '../helpers/registry.js';
import { makeSandbox, type Sandbox } from '../helpers/sandbox.js';
import { err, ok, out } from '../helpers/vm.js';

describe('image pull refuses an image that cannot boot', () => {
  let sb: Sandbox;
  let reg: TestRegistry;

  before(async () => {
    sb = await makeSandbox();
    reg = await startRegistry();
    // A kernel for the images: any file the importer accepts (nothing boots here).
    const kdir = join(sb.dir, 'kernel');
    await mkdir(kdir, { recursive: true });
    await writeFile(join(kdir, 'vmlinuz'), 'not really a kernel');
    ok(await sb.cli(['kernel', 'import', 'k1', '--from', kdir]), 'kernel import');
  });
  after(async () => {
    await reg?.dispose();
    await sb?.dispose();
  });

  let pushed = 0;
  const push = async (repo: string, layers: LayerSpec[], architecture?: string) =>
    (
      await pushImage(reg, join(sb.dir, `layout-${++pushed}`), repo, '1', {
        ...(architecture ? { architecture } : {}),
        layers,
      })
    ).ref;
  const pull = (ref: string) =>
    sb.cli(['image', 'pull', ref, '--kernel-ref', 'k1'], { timeoutMs: 120_000 });

  /** The CLI's error: `banger: <message>` and the hint on the next line, nothing else. */
  const refusal = (r: Awaited<ReturnType<typeof pull>>) => {
    assert.equal(r.exitCode, 1, err(r));
    // Stage lines (`[image pull 0.1s] resolve: …`) come first; the error is the rest.
    const lines = err(r)
      .split('\n')
      .filter((l) => l.trim() !== '' && !l.startsWith('[image pull '));
    assert.equal(lines.length, 2, err(r));
    return { message: lines[0]!, hint: lines[1]!.trim() };
  };

  /** Nothing published, no staging or scratch tree left (verified blobs may stay cached). */
  const nothingLeft = async () => {
    assert.match(out(ok(await sb.cli(['image', 'ls']))), /^no local images/);
    assert.deepEqual(await readdir(sb.layout.imagesDir), []);
    const build = await readdir(join(sb.layout.cacheDir, CacheName.build)).catch(() => []);
    assert.deepEqual(build, [], 'a scratch tree was left');
    const blobs = await readdir(join(sb.layout.cacheDir, ...CacheName.ociBlobs.split('/'))).catch(
      () => [],
    );
    assert.deepEqual(
      blobs.filter((n) => n.endsWith('.partial')),
      [],
    );
  };

  test('a single-platform arm64 image: the error names what it is', async () => {
    const ref = await push(
      'team/arm',
      [{ compression: 'gzip', members: [{ name: 'bin/sh', body: 'sh', mode: 0o755 }] }],
      'arm64',
    );
    const { message, hint } = refusal(await pull(ref));
    assert.equal(
      message,
      `banger: ${ref} cannot become a banger image: it is a linux/arm64 image, not linux/amd64`,
    );
    assert.match(hint, /linux\/amd64/);
    await nothingLeft();
    const blobs = await readdir(join(sb.layout.cacheDir, ...CacheName.ociBlobs.split('/'))).catch(
      () => [],
    );
    assert.deepEqual(blobs, [], 'no layer is fetched for an image refused by its config');
  });

  test('no /bin/sh: none at all, or a dangling symlink through a symlinked /bin', async () => {
    const none = await push('team/noshell', [
      { compression: 'gzip', members: [{ name: 'usr/bin/busybox', body: 'bb', mode: 0o755 }] },
    ]);
    const dangling = await push('team/dangling', [
      {
        compression: 'gzip',
        members: [
          { name: 'usr/bin/', type: 'directory', mode: 0o755 },
          { name: 'bin', type: 'symlink', linkname: 'usr/bin' },
        ],
      },
      // Layer 2 links /bin/sh (through the /bin symlink) to a busybox no layer has.
      {
        compression: 'zstd',
        members: [{ name: 'usr/bin/sh', type: 'symlink', linkname: '/bin/busybox' }],
      },
    ]);
    for (const ref of [none, dangling]) {
      const { message, hint } = refusal(await pull(ref));
      assert.equal(message, `banger: ${ref} cannot become a banger image: it has no /bin/sh`);
      assert.match(hint, /banger runs commands with \/bin\/sh: the image needs a shell there/);
      await nothingLeft();
    }
  });

  test('a /bin/sh that resolves inside the image is accepted: /bin -> usr/bin, sh -> /bin/busybox', async () => {
    const ref = await push('team/linked', [
      {
        compression: 'gzip',
        members: [
          { name: 'usr/bin/', type: 'directory', mode: 0o755 },
          { name: 'bin', type: 'symlink', linkname: 'usr/bin' },
          { name: 'usr/bin/sh', type: 'symlink', linkname: '/bin/busybox' },
        ],
      },
      { compression: 'none', members: [{ name: 'usr/bin/busybox', body: 'bb', mode: 0o755 }] },
    ]);
    ok(await pull(ref), 'pull of an image whose shell is behind two symlinks');
    assert.match(out(ok(await sb.cli(['image', 'ls']))), /^linked-1\s/m);
  });
});
