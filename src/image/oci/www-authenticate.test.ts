import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseWwwAuthenticate } from './www-authenticate.js';

test('Docker Hub bearer challenge', () => {
  assert.deepEqual(
    parseWwwAuthenticate(
      'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull"',
    ),
    [
      {
        scheme: 'bearer',
        realm: 'https://auth.docker.io/token',
        service: 'registry.docker.io',
        scope: 'repository:library/alpine:pull',
      },
    ],
  );
});

test('scope with commas inside quotes, spaces around separators, case-insensitive scheme', () => {
  const [c] = parseWwwAuthenticate(
    'bearer  realm = "https://ghcr.io/token" , scope="repository:o/a:pull,push", error="insufficient_scope"',
  );
  assert.deepEqual(c, {
    scheme: 'bearer',
    realm: 'https://ghcr.io/token',
    service: undefined,
    scope: 'repository:o/a:pull,push',
  });
});

test('Basic (docker-registry htpasswd), escaped quotes, several challenges in one header', () => {
  assert.deepEqual(parseWwwAuthenticate('Basic realm="Registry \\"Realm\\""'), [
    { scheme: 'basic', realm: 'Registry "Realm"' },
  ]);
  assert.deepEqual(
    parseWwwAuthenticate(
      'Negotiate abc123==, Basic realm="r", Bearer realm="http://127.0.0.1:1/t"',
    ),
    [
      { scheme: 'other', name: 'negotiate' },
      { scheme: 'basic', realm: 'r' },
      { scheme: 'bearer', realm: 'http://127.0.0.1:1/t', service: undefined, scope: undefined },
    ],
  );
  // Two headers, as undici reports a repeated header.
  assert.equal(parseWwwAuthenticate(['Basic realm="a"', 'Bearer realm="b"']).length, 2);
});

test('missing, empty and broken headers give no usable challenge', () => {
  assert.deepEqual(parseWwwAuthenticate(undefined), []);
  assert.deepEqual(parseWwwAuthenticate(''), []);
  // A bearer challenge without a realm cannot be answered.
  assert.deepEqual(parseWwwAuthenticate('Bearer service="x"'), [
    { scheme: 'other', name: 'bearer' },
  ]);
  assert.deepEqual(parseWwwAuthenticate('Bearer realm="unterminated'), [
    { scheme: 'bearer', realm: 'unterminated', service: undefined, scope: undefined },
  ]);
});
