import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { BangerError } from '../errors.js';
import type { Runner } from '../system/runner.js';
import { addVm, vmKit, type Kit } from '../../test/helpers/vm-kit.js';
import { connect } from './connect.js';

// connect() on a VM that stops answering: a guest that powered itself off (or whose QEMU was
// killed) after it was last looked at is recorded as stopped at the first refused login,
// instead of being retried until a boot window ends while its lock is held.

let kit: Kit;
before(async () => (kit = await vmKit()));
after(() => kit.close());

/** ssh whose master login is refused while `refuse` (run at each attempt) says so. */
function refusing(runner: Runner, refuse: () => boolean): Runner {
  return {
    ...runner,
    run(file, args, options) {
      if (file !== 'ssh' || !args.includes('-f') || !refuse())
        return runner.run(file, args, options);
      return Promise.resolve({
        command: 'ssh',
        exitCode: 255,
        stdout: '',
        stderr: 'ssh: connect to host 127.0.0.1 port 42071: Connection refused',
      });
    },
  };
}

test('a VM whose process ends while it is logged into: one try, "not running", marked stopped', async () => {
  kit.vmm.living.add(801);
  // Started just now (as the daemon finds an adopted VM): its boot window is still open.
  const vm = await addVm(kit, 'running', 801);
  const runner = kit.ctx.runner;
  let logins = 0;
  kit.ctx.runner = refusing(runner, () => {
    logins++;
    kit.vmm.living.delete(801);
    return true;
  });
  try {
    await assert.rejects(
      connect(kit.ctx, vm, new AbortController().signal),
      (err: unknown) =>
        err instanceof BangerError &&
        err.message === `vm "${vm.name}" is not running` &&
        err.hint === `banger vm start ${vm.name}`,
    );
    assert.equal(logins, 1, 'no retry once the process is gone');
    assert.equal(kit.store.vms.find(vm.id)!.state, 'stopped');
  } finally {
    kit.ctx.runner = runner;
  }
});

test('a VM still running whose login fails is kept and retried within its boot window', async () => {
  kit.vmm.living.add(802);
  const vm = await addVm(kit, 'running', 802);
  const runner = kit.ctx.runner;
  let logins = 0;
  // The guest's sshd answers at the third try.
  kit.ctx.runner = refusing(runner, () => ++logins < 3);
  try {
    const c = await connect(kit.ctx, vm, new AbortController().signal);
    assert.equal(c.vm.id, vm.id);
    assert.equal(logins, 3);
    assert.equal(kit.store.vms.find(vm.id)!.state, 'running');
  } finally {
    kit.ctx.runner = runner;
  }
});
