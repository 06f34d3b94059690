// The registry client through a proxy in front of the real docker-registry that injects what a
// local registry never does on its own: 429s with Retry-After, and a Range header dropped.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { BlobCache } from '../../src/image/oci/blob-cache.js';
import { parseReference } from '../../src/image/oci/reference.js';
import { RegistryClient } from '../../src/image/oci/registry.js';
import { sha256File } from '../../src/system/sha256.js';
import { closeLocal, listenLocal } from '../helpers/local-server.js';
import {
  FAST_RETRY,
  OciLayout,
  startRegistry,
  type BuiltImage,
  type TestRegistry,
} from '../helpers/registry.js';

describe('OCI registry client through a fault-injecting proxy to the real registry', () => {
  let root: string;
  let reg: TestRegistry;
  let app: BuiltImage;
  let limited = 0;
  let stripRange = false;
  const seenRanges: (string | undefined)[] = [];
  const proxy = createServer((req, res) => {
    if (limited > 0 && req.url?.includes('/manifests/')) {
      limited--;
      res.writeHead(429, { 'retry-after': '1', 'content-type': 'application/json' });
      res.end('{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}');
      return;
    }
    const headers = { ...req.headers } as Record<string, string>;
    delete headers.host;
    if (req.url?.includes('/blobs/')) seenRanges.push(headers.range);
    if (stripRange) delete headers.range;
    request(`http://${reg.host}${req.url}`, { headers }).then(
      (up) => {
        res.writeHead(up.statusCode, up.headers as Record<string, string>);
        up.body.pipe(res);
      },
      () => res.destroy(),
    );
  });
  let base: string;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'bgr-oci-proxy-'));
    process.env.HOME = join(root, 'home');
    for (const v of ['XDG_CONFIG_HOME', 'XDG_CACHE_HOME', 'XDG_STATE_HOME', 'XDG_RUNTIME_DIR']) {
      process.env[v] = join(root, v.toLowerCase());
    }
    reg = await startRegistry();
    const layout = new OciLayout(join(root, 'layout'));
    app = await layout.image({
      layers: [
        {
          compression: 'gzip',
          members: [{ name: 'data', body: randomBytes(200_000).toString('hex') }],
        },
      ],
    });
    await layout.tag('v1', app.manifest);
    await reg.push(layout.dir, 'v1', 'team/app');
    base = (await listenLocal(proxy)).replace('http://', '');
  });

  after(async () => {
    await closeLocal(proxy);
    await reg?.dispose();
    await rm(root, { recursive: true, force: true });
  });

  test('429: Retry-After is honoured (bounded), then the pull goes on', async () => {
    const client = new RegistryClient({
      credentials: { env: {}, home: root },
      retry: { retries: 2, maxWaitMs: 300 },
    });
    try {
      limited = 2;
      const started = Date.now();
      const image = await client.resolve(parseReference(`${base}/team/app:v1`));
      assert.equal(image.digest, app.manifest.digest);
      assert.ok(Date.now() - started >= 550, 'waited twice, each capped at 300 ms');
      limited = 10;
      await assert.rejects(client.resolve(parseReference(`${base}/team/app:v1`)), (err: Error) => {
        assert.match(
          err.message,
          new RegExp(
            `^registry ${base} is rate-limiting pulls of ${base}/team/app:v1 \\(HTTP 429, still after 2 retries`,
          ),
        );
        return true;
      });
    } finally {
      limited = 0;
      await client.close();
    }
  });

  test('a server that ignores Range: the partial is started over and the blob verifies', async () => {
    const client = new RegistryClient({ credentials: { env: {}, home: root }, retry: FAST_RETRY });
    try {
      const ref = parseReference(`${base}/team/app:v1`);
      const layer = app.layers[0]!;
      const cache = new BlobCache(join(root, 'blobs'));
      await mkdir(cache.dir, { recursive: true });
      const whole = await readFile(join(root, 'layout/blobs/sha256', layer.digest.slice(7)));
      await writeFile(`${cache.pathOf(layer.digest)}.partial`, whole.subarray(0, 1000));
      stripRange = true;
      seenRanges.length = 0;
      const path = await cache.fetch(layer, client.blobSource(ref));
      assert.deepEqual(seenRanges, ['bytes=1000-']);
      assert.equal(`sha256:${await sha256File(path)}`, layer.digest);
      assert.deepEqual(await readdir(cache.dir), [layer.digest.slice(7)]);
    } finally {
      stripRange = false;
      await client.close();
    }
  });
});
