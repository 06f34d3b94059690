import assert from 'node:assert/strict';
import { test } from 'node:test';
import { selectVmm, vmmLabel } from './select.js';

const kvm = { usable: true, detail: 'kvm_intel with /dev/kvm' };
const noKvm = {
  usable: false,
  detail: 'only the paravirtual kvm_pvm module is loaded — TCG emulation, slow',
};
const auto = { driver: 'auto', accel: 'auto' } as const;

test('auto picks firecracker only with KVM and the binary, else qemu', () => {
  assert.equal(vmmLabel(selectVmm(auto, kvm, '/usr/bin/firecracker')), 'firecracker/kvm');
  assert.equal(vmmLabel(selectVmm(auto, kvm, undefined)), 'qemu/kvm');
  const pvm = selectVmm(auto, noKvm, '/usr/bin/firecracker');
  assert.equal(vmmLabel(pvm), 'qemu/tcg');
  assert.match(pvm.reason, /firecracker needs KVM/);
  assert.equal(vmmLabel(selectVmm(auto, noKvm, undefined)), 'qemu/tcg');
});

test('explicit choices are honoured or refused with the key to change', () => {
  assert.equal(vmmLabel(selectVmm({ driver: 'qemu', accel: 'tcg' }, kvm, undefined)), 'qemu/tcg');
  assert.equal(vmmLabel(selectVmm({ driver: 'qemu', accel: 'auto' }, kvm, '/fc')), 'qemu/kvm');
  assert.throws(
    () => selectVmm({ driver: 'auto', accel: 'kvm' }, noKvm, undefined),
    /vmm\.accel is "kvm" but KVM is not usable/,
  );
  assert.throws(
    () => selectVmm({ driver: 'firecracker', accel: 'auto' }, kvm, undefined),
    /no firecracker binary/,
  );
  assert.throws(
    () => selectVmm({ driver: 'firecracker', accel: 'auto' }, noKvm, '/fc'),
    /needs KVM/,
  );
  assert.throws(() => selectVmm({ driver: 'firecracker', accel: 'tcg' }, kvm, '/fc'), /needs KVM/);
});
