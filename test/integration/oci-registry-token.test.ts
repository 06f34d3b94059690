// Bearer tokens, the way Docker Hub and most registries authenticate: a real docker-registry
// on 127.0.0.1 whose `auth.token` trusts a token service the test runs (test/helpers/
// token-server.ts). The client reads the 401's WWW-Authenticate, buys a token for the pull
// scope (anonymously, or with the login from ~/.docker/config.json) and retries with it.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BlobCache } from '../../src/image/oci/blob-cache.js';
import { parseReference } from '../../src/image/oci/reference.js';
import { RegistryClient } from '../../src/image/oci/registry.js';
import { sha256File } from '../../src/system/sha256.js';
import {
  FAST_RETRY,
  OciLayout,
  startRegistry,
  type BuiltImage,
  type TestRegistry,
} from '../helpers/registry.js';
import { startTokenServer, type TokenServer } from '../helpers/token-server.js';

for (const mode of ['anonymous', 'login'] as const) {
  describe(`OCI registry client, bearer tokens (${mode})`, () => {
    let root: string;
    let home: string;
    let tokens: TokenServer;
    let reg: TestRegistry;
    let app: BuiltImage;
    const login = { user: 'tester', password: 'secret' };

    before(async () => {
      root = await mkdtemp(join(tmpdir(), 'bgr-oci-token-'));
      home = join(root, 'home');
      await mkdir(join(home, '.docker'), { recursive: true });
      tokens = await startTokenServer(
        root,
        mode === 'login' ? { users: { [login.user]: login.password } } : {},
      );
      reg = await startRegistry({ token: tokens, pushCreds: login });
      const layout = new OciLayout(join(root, 'layout'));
      app = await layout.image({
        layers: [{ compression: 'gzip', members: [{ name: 'hello', body: 'from a token' }] }],
      });
      await layout.tag('v1', app.manifest);
      await reg.push(layout.dir, 'v1', 'team/app');
    });
    after(async () => {
      await reg?.dispose();
      await tokens?.close();
      await rm(root, { recursive: true, force: true });
    });

    test('a token for the pull scope is bought and used for manifest, config and layers', async () => {
      if (mode === 'login')
        await writeFile(
          join(home, '.docker/config.json'),
          JSON.stringify({
            auths: {
              [reg.host]: {
                auth: Buffer.from(`${login.user}:${login.password}`).toString('base64'),
              },
            },
          }),
        );
      tokens.requests.length = 0;
      const client = new RegistryClient({ credentials: { env: {}, home }, retry: FAST_RETRY });
      try {
        const ref = parseReference(`${reg.host}/team/app:v1`);
        const image = await client.resolve(ref);
        assert.equal(image.digest, app.manifest.digest);
        const [path] = await new BlobCache(join(root, 'cache')).fetchAll(
          image.layers,
          client.blobSource(ref),
        );
        assert.equal(`sha256:${await sha256File(path!)}`, app.layers[0]!.digest);
        // One token, reused: the pull scope of the repository, for this registry's service.
        assert.deepEqual(tokens.requests, [
          {
            scope: 'repository:team/app:pull',
            service: tokens.service,
            user: mode === 'login' ? login.user : '',
          },
        ]);
      } finally {
        await client.close();
      }
    });

    if (mode === 'login')
      test('no login for a token service that wants one: a one-line 401 naming the service', async () => {
        await rm(join(home, '.docker/config.json'), { force: true });
        const client = new RegistryClient({ credentials: { env: {}, home }, retry: FAST_RETRY });
        try {
          await assert.rejects(
            client.resolve(parseReference(`${reg.host}/team/app:v1`)),
            (err: Error & { code?: string }) => {
              assert.equal(err.code, 'PERMISSION');
              assert.match(err.message, /token service http:\/\/127\.0\.0\.1:\d+ answered 401/);
              assert.ok(!err.message.includes('\n'));
              return true;
            },
          );
        } finally {
          await client.close();
        }
      });
  });
}
