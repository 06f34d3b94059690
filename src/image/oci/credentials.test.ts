import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  basicHeader,
  credentialsIn,
  describeTried,
  lookupCredentials,
  normalizeAuthKey,
} from './credentials.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('docker config parsing', () => {
  test('auth keys: Docker Hub aliases, schemes and paths', () => {
    assert.equal(normalizeAuthKey('https://index.docker.io/v1/'), 'registry-1.docker.io');
    assert.equal(normalizeAuthKey('docker.io'), 'registry-1.docker.io');
    assert.equal(normalizeAuthKey('http://127.0.0.1:5000/v2/'), '127.0.0.1:5000');
    assert.equal(normalizeAuthKey('GHCR.io'), 'ghcr.io');
  });

  test('auth (base64 user:pass, colons in the password) and username/password entries', () => {
    const config = {
      auths: {
        'https://index.docker.io/v1/': { auth: b64('hub:se:cret') },
        'ghcr.io': { username: 'me', password: 'tok' },
        'quay.io': {},
      },
    };
    assert.deepEqual(credentialsIn(config, 'registry-1.docker.io', 'f'), {
      username: 'hub',
      password: 'se:cret',
      file: 'f',
      key: 'https://index.docker.io/v1/',
    });
    assert.equal(credentialsIn(config, 'ghcr.io', 'f')?.password, 'tok');
    assert.equal(credentialsIn(config, 'quay.io', 'f'), undefined);
    assert.equal(credentialsIn(config, '127.0.0.1:5000', 'f'), undefined);
    assert.equal(credentialsIn({}, 'ghcr.io', 'f'), undefined);
    assert.equal(credentialsIn(null, 'ghcr.io', 'f'), undefined);
    assert.throws(
      () => credentialsIn({ auths: { 'ghcr.io': { auth: b64('nocolon') } } }, 'ghcr.io', '/x.json'),
      /\/x\.json: auths\["ghcr\.io"\]\.auth is not base64 of "user:password"/,
    );
    assert.equal(basicHeader({ username: 'a', password: 'b' }), `Basic ${b64('a:b')}`);
  });
});

describe('lookupCredentials', () => {
  let home: string;
  before(async () => {
    home = await mkdtemp(join(tmpdir(), 'bgr-creds-'));
    await mkdir(join(home, '.docker'));
  });
  after(() => rm(home, { recursive: true, force: true }));

  test('$REGISTRY_AUTH_FILE first, then ~/.docker/config.json; what was tried is described', async () => {
    const authFile = join(home, 'auth.json');
    await writeFile(
      authFile,
      JSON.stringify({ auths: { 'a.io': { auth: b64('fromauthfile:1') } } }),
    );
    await writeFile(
      join(home, '.docker/config.json'),
      JSON.stringify({
        auths: { 'a.io': { auth: b64('fromdocker:2') }, 'b.io': { auth: b64('dockeronly:3') } },
        credsStore: 'desktop',
      }),
    );
    const env = { REGISTRY_AUTH_FILE: authFile };
    const a = await lookupCredentials('a.io', { env, home });
    assert.equal(a.credentials?.username, 'fromauthfile');
    const b = await lookupCredentials('b.io', { env, home });
    assert.equal(b.credentials?.username, 'dockeronly');
    assert.match(
      describeTried(b, 'b.io'),
      /user "dockeronly" from .*\.docker\/config\.json \(auths\["b\.io"\]\)/,
    );
    const c = await lookupCredentials('c.io', { env, home });
    assert.equal(c.credentials, undefined);
    assert.deepEqual(c.searched, [authFile, join(home, '.docker/config.json')]);
    assert.match(
      describeTried(c, 'c.io'),
      /^no credentials \(none for c\.io in .*auth\.json or .*config\.json; .*credential helper/,
    );
  });

  test('no files at all is no credentials; a broken file is an error naming it', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'bgr-creds-'));
    try {
      const none = await lookupCredentials('a.io', { env: {}, home: empty });
      assert.equal(none.credentials, undefined);
      await mkdir(join(empty, '.docker'));
      await writeFile(join(empty, '.docker/config.json'), '{not json');
      await assert.rejects(
        lookupCredentials('a.io', { env: {}, home: empty }),
        /config\.json is not valid JSON/,
      );
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });
});
