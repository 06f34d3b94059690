import assert from 'node:assert/strict';
import { test } from 'node:test';
import { methods } from './index.js';
import { vmCreate, vmWorkspacePrepare } from './vm.js';
import { vmSessionList, vmSessionSend, vmSessionShow, vmSessionStart } from './vm-sessions.js';

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

test('each session operation has its own required fields; names are DNS labels', () => {
  const ok = (spec: { params: { safeParse(v: unknown): { success: boolean } } }, v: unknown) =>
    spec.params.safeParse(v).success;
  assert.equal(ok(vmSessionShow, { ref: 'box', name: 'dev' }), true);
  assert.equal(ok(vmSessionShow, { ref: 'box', name: 'Bad Name' }), false);
  assert.equal(ok(vmSessionShow, { ref: 'box' }), false, 'show without a name');
  assert.equal(ok(vmSessionStart, { ref: 'box', name: 'dev', command: ['make'] }), true);
  assert.equal(ok(vmSessionStart, { ref: 'box', name: 'dev' }), false, 'start without a command');
  assert.equal(ok(vmSessionStart, { ref: 'box', name: 'dev', command: [] }), false);
  assert.equal(ok(vmSessionSend, { ref: 'box', name: 'dev', enter: true }), false, 'no text');
  assert.equal(ok(vmSessionSend, { ref: 'box', name: 'dev', text: 'q', enter: false }), true);
  assert.equal(ok(vmSessionList, { ref: 'box' }), true);
  assert.equal(ok(vmSessionList, { ref: 'box', name: 'dev' }), false, 'list takes no name');
});

test('create refuses unknown fields and a relative workspace path', () => {
  const spec = { vcpu: 2, memoryMiB: 1024, diskBytes: 2 ** 33 };
  assert.equal(vmCreate.params.safeParse(spec).success, true);
  assert.equal(vmCreate.params.safeParse({ ...spec, bogus: 1 }).success, false);
  assert.equal(vmCreate.params.safeParse({ ...spec, workspace: 'repo' }).success, false);
  assert.equal(vmCreate.params.safeParse({ ...spec, workspace: '/repo' }).success, true);
});

test('every method that acts on one VM takes a ref and declares its states', () => {
  for (const m of methods) {
    if (!m.vm) continue;
    assert.ok(m.vm.states.length > 0, m.name);
    const shape = (m.params as unknown as { shape?: Record<string, unknown> }).shape;
    assert.ok(shape && 'ref' in shape, `${m.name} has a ref param`);
  }
  const byName = new Map(methods.map((m) => [m.name, m]));
  assert.deepEqual(byName.get('vm.ssh')?.vm?.states, ['running']);
  assert.equal(byName.get('vm.set')?.vm?.states.includes('running'), false);
  assert.equal(byName.get('image.promote')?.vm?.states.includes('running'), false);
});
