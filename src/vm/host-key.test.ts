import assert from 'node:assert/strict';
import { appendFile, readFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import { vmFiles } from '../config/layout.js';
import { BangerError } from '../errors.js';
import { keyOf, pinHostKey, pinnedKey, readKnownHosts } from '../ssh/known-hosts.js';
import type { Runner } from '../system/runner.js';
import { addVm, vmKit, type Kit } from '../../test/helpers/vm-kit.js';
import { connect } from './connect.js';
import { createVm } from './create.js';
import { debugfsCat } from '../disk/debugfs.js';
import { PROVIDED_HOST_KEY, seedHostKey } from './disks.js';
import { sshTarget } from './lookup.js';
import { reconcileAll } from './reconcile.js';
import { destroy } from './stop.js';

// The VM's host key, made at create on its work disk, pinned in banger's known_hosts for as
// long as the VM exists, and every connection refused when sshd shows another one.

let kit: Kit;
before(async () => (kit = await vmKit()));
after(() => kit.close());

const op = () => ({ signal: new AbortController().signal, progress: () => undefined });
const base = { vcpu: 2, memoryMiB: 1024, diskBytes: 256 * 2 ** 20 };
const known = () => readKnownHosts(kit.layout.knownHosts);
const diskKey = async (dir: string) =>
  keyOf(
    (
      await debugfsCat(vmFiles(dir).workDisk, `${PROVIDED_HOST_KEY}.pub`, kit.ctx.runner)
    ).toString(),
  );

test('create pins the key on the work disk under NAME.vm; delete unpins it', async () => {
  await createVm(kit.ctx, { ...base, name: 'pinned' }, op());
  const vm = kit.store.vms.findByName('pinned')!;
  assert.equal(pinnedKey(await known(), 'pinned.vm'), await diskKey(vm.dir));
  const target = await sshTarget(kit.ctx, vm);
  assert.equal(target.hostKeyAlias, 'pinned.vm');
  assert.equal(target.knownHostsFile, kit.layout.knownHosts);
  // Every ssh banger ran checked it strictly under the alias.
  const master = kit.calls.find((c) => c.includes(' -f -N '))!;
  for (const option of [
    'StrictHostKeyChecking=yes',
    `UserKnownHostsFile="${kit.layout.knownHosts}"`,
    'HostKeyAlias=pinned.vm',
  ])
    assert.ok(master.includes(option), `${option} in ${master}`);
  await destroy(kit.ctx, vm);
  assert.equal(pinnedKey(await known(), 'pinned.vm'), undefined);
});

test("create and start write banger's ssh_config and the block in this HOME's ~/.ssh/config", async () => {
  await createVm(kit.ctx, { ...base, name: 'config' }, op());
  assert.match(await readFile(kit.layout.sshClientConfig, 'utf8'), /^Host \*\.vm$/m);
  const user = await readFile(kit.layout.userSshConfig, 'utf8');
  assert.ok(user.includes(`Include "${kit.layout.sshClientConfig}"`), user);
  assert.ok(kit.layout.userSshConfig.startsWith(kit.root));
});

test('a VM made before pinning gets its line from its work disk on first need', async () => {
  const vm = await addVm(kit, 'stopped');
  await seedHostKey(vmFiles(vm.dir).workDisk, vm.name, kit.ctx.runner);
  assert.equal(pinnedKey(await known(), `${vm.name}.vm`), undefined);
  await sshTarget(kit.ctx, vm);
  assert.equal(pinnedKey(await known(), `${vm.name}.vm`), await diskKey(vm.dir));
  // A disk with no key: no line, and no error until ssh itself refuses.
  const bare = await addVm(kit, 'stopped');
  await sshTarget(kit.ctx, bare);
  assert.equal(pinnedKey(await known(), `${bare.name}.vm`), undefined);
});

test('the daemon start drops lines of VMs that are gone', async () => {
  const vm = await addVm(kit, 'stopped');
  await seedHostKey(vmFiles(vm.dir).workDisk, vm.name, kit.ctx.runner);
  await pinHostKey(kit.layout.knownHosts, 'ghost.vm', await diskKey(vm.dir));
  await reconcileAll(kit.ctx);
  assert.equal(pinnedKey(await known(), 'ghost.vm'), undefined);
});

/** ssh as it answers a host key that is not the pinned one: the banner in its -E log, 255. */
function wrongHostKey(runner: Runner): Runner {
  return {
    ...runner,
    async run(file, args, options) {
      if (file !== 'ssh' || !args.includes('-f')) return runner.run(file, args, options);
      await appendFile(
        args[args.indexOf('-E') + 1]!,
        '@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\nHost key verification failed.\n',
      );
      return { command: 'ssh', exitCode: 255, stdout: '', stderr: '' };
    },
  };
}

test('a wrong host key fails boot and connect at once with the one error, not a retry loop', async () => {
  const runner = kit.ctx.runner;
  kit.ctx.runner = wrongHostKey(runner);
  try {
    const started = Date.now();
    await assert.rejects(
      createVm(kit.ctx, { ...base, name: 'imposter', sshWaitMs: 60_000 }, op()),
      (err: unknown) =>
        err instanceof BangerError &&
        err.code === 'HOST_KEY' &&
        err.message ===
          `vm "imposter" answered ssh with a host key that is not the one banger made for it (imposter.vm in ${kit.layout.knownHosts}): refusing to connect`,
    );
    assert.ok(Date.now() - started < 20_000, 'no waiting for the ssh deadline');
    const vm = kit.store.vms.findByName('imposter')!;
    assert.equal(vm.state, 'running', 'kept for inspection');
    assert.match(vm.lastError ?? '', /host key/);
    await assert.rejects(connect(kit.ctx, vm, new AbortController().signal), /refusing to connect/);
  } finally {
    kit.ctx.runner = runner;
  }
});
