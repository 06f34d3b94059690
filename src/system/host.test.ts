import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { hostTscKhz } from './host.js';
import { which } from './which.js';

test('the TSC rate comes from /proc/cpuinfo in kHz', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'bgr-host-'));
  try {
    await writeFile(join(dir, 'cpuinfo'), 'processor\t: 0\ncpu MHz\t\t: 2596.120\n');
    assert.equal(await hostTscKhz(join(dir, 'cpuinfo')), 2596120);
    await writeFile(join(dir, 'none'), 'processor\t: 0\n');
    assert.equal(await hostTscKhz(join(dir, 'none')), undefined);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('which finds programs on PATH and in sbin, and nothing else', () => {
  assert.equal(which('sh', '/bin'), '/bin/sh');
  assert.ok(which('debugfs', '/nonexistent')?.endsWith('/debugfs'), 'sbin is searched too');
  assert.equal(which('banger-no-such-program', '/bin'), undefined);
  assert.equal(which('/bin/sh'), '/bin/sh');
});
