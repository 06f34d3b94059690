import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ManifestProblem } from './manifest.js';
import { MediaType, parseImageConfig, parseManifest, selectPlatform } from './manifest.js';

const d = (c: string) => `sha256:${c.repeat(64)}`;

describe('selectPlatform', () => {
  const entry = (c: string, os: string, architecture: string, variant?: string) => ({
    mediaType: MediaType.OciManifest,
    digest: d(c),
    size: 10,
    platform: { os, architecture, variant },
  });

  test('picks linux/amd64 wherever it is in the index', () => {
    assert.equal(
      selectPlatform([entry('a', 'linux', 'arm64', 'v8'), entry('b', 'linux', 'amd64')]).digest,
      d('b'),
    );
    assert.equal(
      selectPlatform([
        entry('c', 'linux', 'amd64', 'v3'),
        entry('b', 'linux', 'amd64'),
        entry('a', 'unknown', 'unknown'),
      ]).digest,
      d('b'),
    );
    assert.equal(selectPlatform([entry('c', 'linux', 'amd64', 'v2')]).digest, d('c'));
  });

  test('no linux/amd64: the message lists the platforms there are', () => {
    assert.throws(
      () =>
        selectPlatform([
          entry('a', 'linux', 'arm64', 'v8'),
          entry('b', 'windows', 'amd64'),
          entry('c', 'unknown', 'unknown'),
          entry('e', 'linux', 'arm64', 'v8'),
        ]),
      /no linux\/amd64 image \(it has linux\/arm64\/v8, windows\/amd64\)$/,
    );
    assert.throws(() => selectPlatform([]), /no platform entries/);
  });
});

describe('parseManifest', () => {
  const layer = (mediaType: string, c = 'a') => ({ mediaType, digest: d(c), size: 3 });
  const image = (
    layers: unknown[],
    config: unknown = { mediaType: MediaType.OciConfig, digest: d('f'), size: 2 },
  ) => JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciManifest, config, layers });

  test('OCI and Docker layers map to their compression', () => {
    const m = parseManifest(
      image([
        layer('application/vnd.oci.image.layer.v1.tar+gzip'),
        layer('application/vnd.oci.image.layer.v1.tar+zstd'),
        layer('application/vnd.oci.image.layer.v1.tar'),
        layer('application/vnd.docker.image.rootfs.diff.tar.gzip'),
      ]),
      undefined,
    );
    assert.equal(m.kind, 'image');
    assert.deepEqual(m.kind === 'image' && m.layers.map((l) => l.compression), [
      'gzip',
      'zstd',
      'none',
      'gzip',
    ]);
  });

  test('the Content-Type header names the kind when the body does not', () => {
    const body = JSON.stringify({
      schemaVersion: 2,
      manifests: [{ digest: d('a'), size: 1, platform: { os: 'linux', architecture: 'amd64' } }],
    });
    const m = parseManifest(body, `${MediaType.DockerList}; charset=utf-8`);
    assert.equal(m.kind, 'index');
    assert.equal(m.kind === 'index' && m.manifests[0]?.platform?.architecture, 'amd64');
  });

  test('refuses foreign and unknown layers, schema 1, artifacts, bad digests', () => {
    assert.throws(
      () =>
        parseManifest(
          image([layer('application/vnd.docker.image.rootfs.foreign.diff.tar.gzip')]),
          undefined,
        ),
      /layer 1 .* is a foreign layer/,
    );
    assert.throws(
      () =>
        parseManifest(
          image([layer(MediaType.OciConfig), layer('application/x-thing', 'b')]),
          undefined,
        ),
      /layer 1 .* has media type "application\/vnd.oci.image.config.v1\+json", not a tar/,
    );
    assert.throws(() => parseManifest('{"schemaVersion":1,"fsLayers":[]}', undefined), /schema 1/);
    assert.throws(
      () =>
        parseManifest(
          image([layer(MediaType.OciConfig)], {
            mediaType: 'application/vnd.cncf.helm.config.v1+json',
            digest: d('f'),
            size: 1,
          }),
          undefined,
        ),
      /artifact, not a container image/,
    );
    assert.throws(
      () =>
        parseManifest(
          image([
            {
              mediaType: 'application/vnd.oci.image.layer.v1.tar',
              digest: 'sha256:../../etc',
              size: 1,
            },
          ]),
          undefined,
        ),
      /not sha256:<64 hex>/,
    );
    assert.throws(() => parseManifest(image([]), undefined), /no layers/);
    assert.throws(() => parseManifest('nope', undefined), /not JSON/);
  });
});

describe('parseImageConfig', () => {
  test('keeps Env, WorkingDir, User, Entrypoint, Cmd', () => {
    const c = parseImageConfig(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        config: {
          Env: ['PATH=/usr/bin', 'LANG=C.UTF-8'],
          WorkingDir: '/app',
          User: '1000:1000',
          Cmd: ['python3'],
        },
        rootfs: { type: 'layers', diff_ids: [d('1')] },
      }),
    );
    assert.deepEqual(c.env, ['PATH=/usr/bin', 'LANG=C.UTF-8']);
    assert.equal(c.workingDir, '/app');
    assert.equal(c.user, '1000:1000');
    assert.deepEqual(c.cmd, ['python3']);
    assert.equal(c.entrypoint, undefined);
    assert.deepEqual(c.diffIds, [d('1')]);
    assert.equal(parseImageConfig('{"architecture":"amd64","os":"linux"}').workingDir, undefined);
  });

  test('refuses other architectures and systems', () => {
    assert.throws(
      () => parseImageConfig('{"architecture":"arm64","os":"linux"}'),
      (err: ManifestProblem) =>
        /^it is a linux\/arm64 image, not linux\/amd64$/.test(err.message) &&
        /pull a tag built for linux\/amd64/.test(err.hint ?? ''),
    );
    assert.throws(
      () => parseImageConfig('{"architecture":"amd64","os":"windows"}'),
      /windows\/amd64/,
    );
    assert.throws(() => parseImageConfig('{}'), /\?\/\?/);
  });
});
