import assert from 'node:assert/strict';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { TemplateFileName, vmFiles } from '../../config/layout.js';
import { addVm, vmKit, type Kit } from '../../../test/helpers/vm-kit.js';
import { templateKey } from './shape.js';
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

test('shape: templates are per network mode; a pulled image names its kit and modules disk as they are; the plan says cold without a template', async () => {
  const warm = new WarmStart(kit.ctx, join(kit.root, 'templates-2'), false);
  const image = kit.store.images.findById('img1')!;
  const size = { vcpu: 2, memoryMiB: 1024, diskBytes: 2 ** 30 };
  const built = await warm.shapeOf(image, size);
  assert.ok(built);
  assert.equal(built.guestDisks, undefined);
  assert.equal((await warm.shapeOf(image, { ...size, network: 'tap' }))?.network, 'tap');
  assert.equal((await warm.shapeOf(image, size))?.network, 'user');
  const pulled = {
    ...image,
    oci: { reference: 'r', digest: 'd', env: [], workingDir: '', user: '' },
  };
  const before = await warm.shapeOf(pulled, size);
  assert.match(before?.guestDisks ?? '', /^guest-kit-\d+\.ext4:missing,.*\.ext4:missing$/);
  await mkdir(kit.layout.stateDir, { recursive: true });
  await writeFile(kit.layout.guestKit, 'a kit');
  const after = await warm.shapeOf(pulled, size);
  assert.match(after?.guestDisks ?? '', /^guest-kit-\d+\.ext4:5:[\d.]+,/);
  assert.notEqual(templateKey(after!), templateKey(before!), 'a new kit: another template');
  await writeFile(kit.layout.guestKit, 'a rebuilt kit');
  assert.notEqual(templateKey((await warm.shapeOf(pulled, size))!), templateKey(after!));
  assert.equal(await warm.plan(image, size), 'cold');
});
