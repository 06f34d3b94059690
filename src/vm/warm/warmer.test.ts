import assert from 'node:assert/strict';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { TemplateFileName, vmFiles } from '../../config/layout.js';
import { addVm, vmKit, type Kit } from '../../../test/helpers/vm-kit.js';
import { WarmStart } from './warmer.js';

// WarmStart's bookkeeping on a real store and real files, the VMM scripted.

let kit: Kit;
before(async () => (kit = await vmKit()));
after(() => kit.close());

test('reconcile: a VM whose resume a dead daemon left unfinished is removed; staging and templates of gone images go', async () => {
  const dir = join(kit.root, 'templates');
  const warm = new WarmStart(kit.ctx, dir, false);
  const half = await addVm(kit, 'running');
  await writeFile(vmFiles(half.dir).resuming, '');
  const whole = await addVm(kit, 'stopped');
  await mkdir(join(dir, '0123456789abcdef.staging'), { recursive: true });
  const template = (key: string, imageId: string) =>
    mkdir(join(dir, key)).then(async () => {
      for (const f of [
        TemplateFileName.memory,
        TemplateFileName.state,
        'system.qcow2',
        'work.ext4',
      ])
        await writeFile(join(dir, key, f), '');
      await writeFile(join(dir, key, TemplateFileName.meta), JSON.stringify({ key, imageId }));
    });
  await template('aaaaaaaaaaaaaaaa', 'img1');
  await template('bbbbbbbbbbbbbbbb', 'gone-image');

  await warm.reconcile();
  assert.equal(kit.store.vms.find(half.id), undefined, 'the half-resumed VM is gone');
  assert.ok(kit.store.vms.find(whole.id), 'the others stay');
  assert.deepEqual((await readdir(dir)).sort(), ['aaaaaaaaaaaaaaaa']);
});

test('shape: pulled images are not warm-started, templates are per network mode; the plan says cold without a template', async () => {
  const warm = new WarmStart(kit.ctx, join(kit.root, 'templates-2'), false);
  const image = kit.store.images.findById('img1')!;
  const size = { vcpu: 2, memoryMiB: 1024, diskBytes: 2 ** 30 };
  assert.ok(await warm.shapeOf(image, size));
  assert.equal((await warm.shapeOf(image, { ...size, network: 'tap' }))?.network, 'tap');
  assert.equal((await warm.shapeOf(image, size))?.network, 'user');
  const pulled = {
    ...image,
    oci: { reference: 'r', digest: 'd', env: [], workingDir: '', user: '' },
  };
  assert.equal(await warm.shapeOf(pulled, size), undefined);
  assert.equal(await warm.plan(image, size), 'cold');
  await assert.rejects(
    warm.warm(pulled, size, { signal: new AbortController().signal, progress: () => undefined }),
    /cannot be warm-started: it is a pulled OCI image/,
  );
});
