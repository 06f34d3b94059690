import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ociRunContext } from './run-context.js';

const KIT_BIN = '/run/banger-kit/bin';

test("an image's Env, WorkingDir and User become the run context; the kit's tools come last", () => {
  const c = ociRunContext({
    env: ['PATH=/usr/local/bin:/usr/bin', 'PYTHON_VERSION=3.12.7'],
    workingDir: '/app',
    user: 'node',
  });
  assert.deepEqual(c, {
    env: ['PYTHON_VERSION=3.12.7', `PATH=/usr/local/bin:/usr/bin:${KIT_BIN}`],
    workingDir: '/app',
    runAs: ['/run/banger-kit/libexec/banger-as', 'node'],
  });
});

test("no PATH in the image: docker's default; HOME from the image is kept by the switch", () => {
  const c = ociRunContext({ env: ['HOME=/home/app'], workingDir: '', user: '1000:1000' });
  assert.deepEqual(c.env, [
    'HOME=/home/app',
    `PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:${KIT_BIN}`,
  ]);
  assert.equal(c.workingDir, undefined);
  assert.deepEqual(c.runAs, ['/run/banger-kit/libexec/banger-as', '--keep-home', '1000:1000']);
});

test('root in any spelling needs no switch; root with another group does', () => {
  for (const user of ['', 'root', '0', 'root:root', '0:0'])
    assert.equal(ociRunContext({ env: [], workingDir: '', user }).runAs, undefined, user);
  assert.deepEqual(ociRunContext({ env: [], workingDir: '', user: 'root:staff' }).runAs, [
    '/run/banger-kit/libexec/banger-as',
    'root:staff',
  ]);
});
