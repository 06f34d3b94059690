// `banger image pull REF` through the real CLI and daemon against a real docker-registry on
// 127.0.0.1: layers verified into the cache, flattened with whiteouts, an ext4 with owners,
// the record with its digest and config; a second pull from the cache; refusals leave nothing.
import assert from 'node:assert/strict';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CacheName } from '../../src/config/layout.js';
import { realRunner } from '../../src/system/runner.js';
import { pushImage, startRegistry, type TestRegistry } from '../helpers/registry.js';
import { makeSandbox, type Sandbox } from '../helpers/sandbox.js';
import { err, ok, out } from '../helpers/vm.js';

describe('image pull of an OCI reference', () => {
  let sb: Sandbox;
  let reg: TestRegistry;
  let ref: string;
  let layerDigests: string[];

  before(async () => {
    sb = await makeSandbox();
    reg = await startRegistry();
    // Three layers: the upper ones whiteout a file and a directory of the lowest and make
    // another of its directories opaque (its old content goes, the new file stays).
    const pushed = await pushImage(reg, join(sb.dir, 'layout'), 'team/app', '1', {
      layers: [
        {
          compression: 'gzip',
          members: [
            { name: 'bin/', type: 'directory', mode: 0o755 },
            { name: 'bin/sh', body: '#!/bin/true\n', mode: 0o755 },
            { name: 'bin/su', body: 'setuid\n', mode: 0o4755, uid: 0, gid: 0 },
            { name: 'etc/', type: 'directory', mode: 0o755 },
            { name: 'etc/old.conf', body: 'old\n' },
            { name: 'srv/', type: 'directory', mode: 0o755 },
            { name: 'srv/a', body: 'a\n' },
            { name: 'opt/', type: 'directory', mode: 0o755 },
            { name: 'opt/lower', body: 'lower\n' },
            { name: 'home/', type: 'directory', mode: 0o755 },
            { name: 'home/app/', type: 'directory', mode: 0o750, uid: 1000, gid: 1000 },
            { name: 'home/app/data', body: 'mine\n', uid: 1000, gid: 1000 },
            { name: '.dockerenv', body: '' },
          ],
        },
        {
          compression: 'zstd',
          members: [
            { name: 'etc/.wh.old.conf', body: '' },
            { name: '.wh.srv', body: '' },
            { name: 'etc/new.conf', body: 'new\n' },
          ],
        },
        {
          compression: 'none',
          members: [
            { name: 'opt/', type: 'directory', mode: 0o755 },
            { name: 'opt/.wh..wh..opq', body: '' },
            { name: 'opt/upper', body: 'upper\n' },
          ],
        },
      ],
      config: { Env: ['PATH=/bin', 'APP=1'], WorkingDir: '/home/app', User: 'app' },
    });
    layerDigests = pushed.image.layers.map((l) => l.digest);
    ref = pushed.ref;
    // A kernel for the image: any file the importer accepts (nothing boots here).
    const kdir = join(sb.dir, 'kernel');
    await mkdir(kdir, { recursive: true });
    await writeFile(join(kdir, 'vmlinuz'), 'not really a kernel');
    ok(await sb.cli(['kernel', 'import', 'k1', '--from', kdir]), 'kernel import');
  });
  after(async () => {
    await reg?.dispose();
    await sb?.dispose();
  });

  const debugfs = async (rootfs: string, request: string) =>
    (await realRunner.run('debugfs', ['-R', request, rootfs])).stdout;

  test('pulls, flattens with whiteouts and owners, records the digest and config', async () => {
    const r = await sb.cli(['image', 'pull', ref, '--kernel-ref', 'k1'], { timeoutMs: 120_000 });
    ok(r, 'image pull');
    assert.match(out(r), /^app-1\s+/m);
    for (const stage of ['resolve', 'download', 'flatten', 'ext4', 'publish'])
      assert.match(err(r), new RegExp(`\\] ${stage}: `), stage);
    const show = JSON.parse(out(ok(await sb.cli(['image', 'show', 'app-1', '--json'])))) as {
      rootfs: string;
      kernel: string;
      source: string;
      oci: { reference: string; digest: string; env: string[]; workingDir: string; user: string };
    };
    assert.equal(show.kernel, 'k1');
    assert.equal(show.source, `oci:${ref}`);
    assert.match(show.oci.digest, /^sha256:[0-9a-f]{64}$/);
    assert.deepEqual(show.oci.env, ['PATH=/bin', 'APP=1']);
    assert.equal(show.oci.workingDir, '/home/app');
    assert.equal(show.oci.user, 'app');
    const human = out(ok(await sb.cli(['image', 'show', 'app-1'])));
    assert.match(human, new RegExp(`^digest:\\s+${show.oci.digest}$`, 'm'));

    // `ls -p` prints /inode/mode/uid/gid/name/size/ per entry.
    const names = async (dir: string) =>
      (await debugfs(show.rootfs, `ls -p ${dir}`))
        .split('\n')
        .map((line) => line.split('/')[5] ?? '')
        .filter((n) => n && n !== '.' && n !== '..')
        .sort();
    assert.deepEqual(await names('/etc'), ['new.conf']);
    assert.deepEqual(await names('/opt'), ['upper']);
    assert.equal((await names('/')).includes('srv'), false, 'whiteout of a directory');
    assert.equal((await names('/')).includes('.dockerenv'), false);
    const su = await debugfs(show.rootfs, 'stat /bin/su');
    assert.match(su, /Mode:\s+04755/);
    assert.match(su, /User:\s+0\s+Group:\s+0/);
    const data = await debugfs(show.rootfs, 'stat /home/app/data');
    assert.match(data, /User:\s+1000\s+Group:\s+1000/);
    assert.equal(await debugfs(show.rootfs, 'cat /opt/upper'), 'upper\n');
  });

  test('a second pull of the same image is served from the blob cache', async () => {
    const layerGets = async () =>
      (await reg.requests()).filter((l) => layerDigests.some((d) => l.includes(d))).length;
    const before = await layerGets();
    assert.ok(before >= layerDigests.length, 'the first pull fetched every layer');
    ok(
      await sb.cli(['image', 'pull', ref, '--name', 'app-again', '--kernel-ref', 'k1'], {
        timeoutMs: 120_000,
      }),
      'second pull',
    );
    assert.equal(await layerGets(), before, 'no layer fetched again');
    const cached = await readdir(join(sb.layout.cacheDir, ...CacheName.ociBlobs.split('/')));
    assert.equal(cached.filter((n) => n.endsWith('.partial')).length, 0);
    assert.ok(cached.length >= 3, cached.join(' '));
  });

  test('refusals: an unknown tag, a taken name; nothing staged', async () => {
    const missing = await sb.cli(['image', 'pull', `${reg.host}/team/app:nope`]);
    assert.equal(missing.exitCode, 1);
    assert.match(err(missing), /team\/app:nope/);
    const taken = await sb.cli(['image', 'pull', ref, '--kernel-ref', 'k1']);
    assert.equal(taken.exitCode, 1);
    assert.match(err(taken), /image "app-1" already exists/);
    const left = await readdir(sb.layout.imagesDir);
    assert.deepEqual(
      left.filter((n) => n.endsWith('.staging')),
      [],
    );
  });
});
