import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isValidName } from '../../config/names.js';
import {
  formatReference,
  imageNameFor,
  looksLikeOciReference,
  manifestReference,
  parseReference,
} from './reference.js';

const HEX = 'a'.repeat(12) + 'b'.repeat(52);

describe('parseReference', () => {
  test('Docker Hub defaults: registry, library/ namespace, latest', () => {
    assert.equal(
      formatReference(parseReference('alpine')),
      'registry-1.docker.io/library/alpine:latest',
    );
    assert.equal(
      formatReference(parseReference('docker.io/library/alpine:3.20')),
      'registry-1.docker.io/library/alpine:3.20',
    );
    assert.equal(
      formatReference(parseReference('index.docker.io/bitnami/redis')),
      'registry-1.docker.io/bitnami/redis:latest',
    );
    assert.equal(
      formatReference(parseReference('python:3.12')),
      'registry-1.docker.io/library/python:3.12',
    );
  });

  test('registries with ports, localhost and IPv6; nested repositories', () => {
    assert.deepEqual(parseReference('127.0.0.1:5000/team/app:v1'), {
      registry: '127.0.0.1:5000',
      repository: 'team/app',
      tag: 'v1',
      digest: undefined,
    });
    assert.equal(parseReference('localhost/app').registry, 'localhost');
    assert.equal(parseReference('[::1]:5000/app').registry, '[::1]:5000');
    assert.equal(parseReference('ghcr.io/a/b/c').repository, 'a/b/c');
    // A first component without a dot or colon is a namespace, not a registry.
    assert.deepEqual(parseReference('myorg/app').repository, 'myorg/app');
    assert.equal(parseReference('myorg/app').registry, 'registry-1.docker.io');
  });

  test('digests: pulled by digest, tag kept when both are given', () => {
    const byDigest = parseReference(`ghcr.io/o/tool@sha256:${HEX}`);
    assert.equal(byDigest.tag, undefined);
    assert.equal(manifestReference(byDigest), `sha256:${HEX}`);
    const both = parseReference(`ghcr.io/o/tool:1.0@sha256:${HEX}`);
    assert.equal(both.tag, '1.0');
    assert.equal(manifestReference(both), `sha256:${HEX}`);
    assert.equal(manifestReference(parseReference('alpine')), 'latest');
  });

  test('invalid references: one line naming the input and the expected form', () => {
    for (const [input, why] of [
      ['', /empty/],
      ['Alpine', /lowercase/],
      ['alpine:', /tag ""/],
      ['alpine:bad/tag', /not a repository path component|tag/],
      [`alpine@sha256:${HEX.slice(1)}`, /64 lowercase hex/],
      [`alpine@sha512:${HEX}`, /only sha256/],
      ['https://ghcr.io/o/t', /URL scheme/],
      ['ghcr.io/', /repository name is missing/],
      ['a b', /whitespace/],
      ['foo..bar', /path component/],
      ['host:99999/app', /port 99999/],
    ] as const) {
      assert.throws(
        () => parseReference(input),
        (err: Error) => {
          assert.match(err.message, why);
          assert.ok(err.message.startsWith(`${JSON.stringify(input)} is not an image reference`));
          assert.match(err.message, /expected \[registry\[:port\]\/\]repository/);
          assert.ok(!err.message.includes('\n'));
          return true;
        },
        input,
      );
    }
  });

  test('looksLikeOciReference: bare names and references yes, junk no', () => {
    assert.equal(looksLikeOciReference('alpine'), true);
    assert.equal(looksLikeOciReference('debian-bookworm'), true);
    assert.equal(looksLikeOciReference('debian:bookworm'), true);
    assert.equal(looksLikeOciReference('127.0.0.1:5000/x:y'), true);
    assert.equal(looksLikeOciReference('Not A Ref'), false);
    assert.equal(looksLikeOciReference('x@sha256:12'), false);
  });
});

describe('imageNameFor', () => {
  const name = (s: string) => imageNameFor(parseReference(s));

  test('derives readable DNS-label names', () => {
    assert.equal(name('debian:bookworm'), 'debian-bookworm');
    assert.equal(name('python:3.12'), 'python-3-12');
    assert.equal(name('alpine'), 'alpine');
    assert.equal(name('alpine:latest'), 'alpine');
    assert.equal(name('docker.io/library/alpine:3.20'), 'alpine-3-20');
    assert.equal(name(`ghcr.io/o/tool@sha256:${HEX}`), `tool-${'a'.repeat(12)}`);
    assert.equal(name(`ghcr.io/o/tool:v2@sha256:${HEX}`), `tool-${'a'.repeat(12)}`);
    assert.equal(name('127.0.0.1:5000/my_team/some__app:V1_x'), 'some-app-v1-x');
  });

  test('every derived name is a valid banger name, even for long inputs', () => {
    const long = 'x'.repeat(100);
    for (const ref of [
      `${long}:${'T'.repeat(128)}`,
      `${long}`,
      `a-${long}:1`,
      `ghcr.io/o/${long}@sha256:${HEX}`,
      'node:22-bookworm-slim',
      'busybox:1.36.1-musl',
      'x:_',
    ]) {
      const n = name(ref);
      assert.ok(isValidName(n), `${ref} → ${n}`);
    }
  });
});
