import assert from 'node:assert/strict';
import { test } from 'node:test';
import { vmCreate, vmSession, vmWorkspacePrepare } from './vm.js';

// The daemon validates what reaches it even when the CLI already did: names and git
// arguments that a guest command line could misread are refused at the RPC boundary.
test('workspace prepare: an absolute path; --branch/--from that git could read as options are refused', () => {
  const ok = vmWorkspacePrepare.params.safeParse({
    ref: 'box',
    path: '/repo',
    branch: 'fix',
    from: 'HEAD~1',
  });
  assert.equal(ok.success, true);
  for (const bad of [
    { ref: 'box', path: 'relative' },
    { ref: 'box', path: '/repo', branch: '-x' },
    { ref: 'box', path: '/repo', from: '--upload-pack=evil' },
    { ref: 'box', path: '/repo', branch: 'a b' },
  ])
    assert.equal(vmWorkspacePrepare.params.safeParse(bad).success, false, JSON.stringify(bad));
});

test('session names are DNS labels; create refuses unknown fields', () => {
  assert.equal(vmSession.params.safeParse({ ref: 'box', op: 'show', name: 'dev' }).success, true);
  assert.equal(
    vmSession.params.safeParse({ ref: 'box', op: 'show', name: 'Bad Name' }).success,
    false,
  );
  assert.equal(vmSession.params.safeParse({ ref: 'box', op: 'rm', name: 'dev' }).success, false);
  const spec = { vcpu: 2, memoryMiB: 1024, diskBytes: 2 ** 33 };
  assert.equal(vmCreate.params.safeParse(spec).success, true);
  assert.equal(vmCreate.params.safeParse({ ...spec, bogus: 1 }).success, false);
});
