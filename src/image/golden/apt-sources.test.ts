import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { debianMirror, hostAptSources, securityMirror } from './apt-sources.js';

test("the host's mirror is read from deb822 and one-line sources", async () => {
  const root = await mkdtemp(join(tmpdir(), 'bgr-apt-'));
  try {
    await mkdir(join(root, 'etc/apt/sources.list.d'), { recursive: true });
    await writeFile(
      join(root, 'etc/apt/sources.list.d/debian.sources'),
      `Types: deb
# a comment
URIs: http://mirror.example/debian/
Suites: bookworm bookworm-updates
Components: main

Types: deb
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main

Types: deb-src
URIs: http://src.example/debian
Suites: bookworm
`,
    );
    await writeFile(
      join(root, 'etc/apt/sources.list.d/other.list'),
      'deb [arch=amd64 signed-by=/k.gpg] https://third.party/apt stable main\n',
    );
    await writeFile(
      join(root, 'etc/apt/sources.list.d/ignored.list.disabled'),
      'deb http://nope/debian bookworm main\n',
    );
    const sources = await hostAptSources(root);
    assert.equal(sources.length, 3);
    assert.equal(debianMirror(sources, 'bookworm'), 'http://mirror.example/debian');
    assert.equal(securityMirror(sources, 'bookworm'), 'http://mirror.example/debian-security');
    assert.equal(debianMirror(sources, 'trixie'), undefined);

    await writeFile(
      join(root, 'etc/apt/sources.list'),
      '# old style\ndeb http://legacy.example/debian bookworm main contrib\n',
    );
    assert.equal(
      debianMirror(await hostAptSources(root), 'bookworm'),
      'http://legacy.example/debian',
    );
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
