import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LaunchSpec } from '../vmm.js';
import { qemuArgs, qemuCmdline, TCG_TB_SIZE_MIB } from './args.js';

const spec: LaunchSpec = {
  id: '0123456789abcdef',
  name: 'blue-fox',
  dir: '/state/vms/0123456789abcdef',
  kernel: '/k/vmlinux',
  initrd: '/k/initrd.img',
  cmdline: ['root=/dev/vda', 'banger.hostname=blue-fox'],
  systemDisk: { path: '/state/vms/0123456789abcdef/system.qcow2', format: 'qcow2' },
  workDisk: '/state/vms/0123456789abcdef/work.ext4',
  vcpu: 2,
  memoryMiB: 1024,
  network: { mode: 'user', sshPort: 40022, nat: false },
};

/** The value following `flag` each time it appears. */
function values(args: string[], flag: string): string[] {
  return args.flatMap((a, i) => (a === flag ? [args[i + 1]!] : []));
}

test('qemu args: microvm, detached with a pidfile, QMP and the console in the VM dir', () => {
  const args = qemuArgs(spec, 'tcg');
  assert.deepEqual(values(args, '-M'), ['microvm,x-option-roms=off,memory-backend=mem']);
  assert.deepEqual(values(args, '-object'), [`memory-backend-ram,id=mem,size=1024M`]);
  assert.ok(!args.includes('-incoming'), 'a boot is not a restore');
  assert.deepEqual(values(args, '-name'), ['banger-0123456789abcdef']);
  for (const flag of ['-nodefaults', '-no-user-config', '-daemonize'])
    assert.ok(args.includes(flag), flag);
  assert.deepEqual(values(args, '-pidfile'), [`${spec.dir}/qemu.pid`]);
  assert.deepEqual(values(args, '-qmp'), [`unix:${spec.dir}/qmp.sock,server=on,wait=off`]);
  assert.deepEqual(values(args, '-serial'), ['chardev:console']);
  assert.deepEqual(values(args, '-kernel'), ['/k/vmlinux']);
  assert.deepEqual(values(args, '-initrd'), ['/k/initrd.img']);
  assert.deepEqual(values(args, '-append'), [
    'console=ttyS0 pci=off root=/dev/vda banger.hostname=blue-fox',
  ]);
  assert.deepEqual(values(args, '-smp'), ['2']);
  assert.deepEqual(values(args, '-m'), ['1024M']);
});

test('qemu args: the system disk is the first virtio disk (vda), the work disk the second', () => {
  const args = qemuArgs(spec, 'tcg');
  assert.deepEqual(values(args, '-drive'), [
    `id=system,file=${spec.systemDisk.path},format=qcow2,if=none,discard=unmap`,
    `id=work,file=${spec.workDisk},format=raw,if=none,discard=unmap`,
  ]);
  assert.deepEqual(values(args, '-device').slice(0, 3), [
    'virtio-blk-device,drive=system',
    'virtio-blk-device,drive=work',
    'virtio-net-device,netdev=net0',
  ]);
});

test('qemu args: read-only disks (kit, modules) follow the work disk, in order', () => {
  const args = qemuArgs({ ...spec, readOnlyDisks: ['/s/kit.ext4', '/c/modules.ext4'] }, 'tcg');
  assert.deepEqual(values(args, '-drive').slice(2), [
    'id=ro0,file=/s/kit.ext4,format=raw,if=none,readonly=on',
    'id=ro1,file=/c/modules.ext4,format=raw,if=none,readonly=on',
  ]);
  assert.deepEqual(values(args, '-device').slice(2, 4), [
    'virtio-blk-device,drive=ro0',
    'virtio-blk-device,drive=ro1',
  ]);
});

test('qemu args: a virtio-serial data port named banger.data, its host end a socket in the VM dir', () => {
  const args = qemuArgs(spec, 'tcg');
  assert.deepEqual(values(args, '-device').slice(3), [
    'virtio-serial-device,max_ports=2',
    'virtserialport,chardev=data,name=banger.data',
  ]);
  assert.deepEqual(values(args, '-chardev'), [
    `file,id=console,path=${spec.dir}/console.log,append=on`,
    `socket,id=data,path=${spec.dir}/data.sock,server=on,wait=off`,
  ]);
  assert.throws(() => qemuArgs({ ...spec, dir: '/a,b' }, 'tcg'), /comma/);
});

test('qemu args: TCG runs on one thread with a small translation cache; KVM the host CPU', () => {
  const tcg = qemuArgs(spec, 'tcg');
  assert.deepEqual(values(tcg, '-accel'), [`tcg,thread=single,tb-size=${TCG_TB_SIZE_MIB}`]);
  assert.deepEqual(values(tcg, '-cpu'), ['max']);
  const kvm = qemuArgs(spec, 'kvm');
  assert.deepEqual(values(kvm, '-accel'), ['kvm']);
  assert.deepEqual(values(kvm, '-cpu'), ['host']);
});

test('qemu args: without --nat the guest is restricted to the forwarded ssh port', () => {
  assert.deepEqual(values(qemuArgs(spec, 'tcg'), '-netdev'), [
    'user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:40022-:22',
  ]);
  const nat = { ...spec, network: { ...spec.network, nat: true } };
  assert.deepEqual(values(qemuArgs(nat, 'tcg'), '-netdev'), [
    'user,id=net0,restrict=off,hostfwd=tcp:127.0.0.1:40022-:22',
  ]);
});

test('qemu args: without NAT the proxy address leads to the egress command; with NAT it is not there', () => {
  const egress = { port: 41000, command: '/bin/busybox nc 127.0.0.1 41000' };
  const listed = { ...spec, network: { ...spec.network, egress } };
  assert.deepEqual(values(qemuArgs(listed, 'tcg'), '-netdev'), [
    'user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:40022-:22,guestfwd=tcp:10.0.2.100:3128-cmd:/bin/busybox nc 127.0.0.1 41000',
  ]);
  const nat = { ...listed, network: { ...listed.network, nat: true } };
  assert.doesNotMatch(values(qemuArgs(nat, 'tcg'), '-netdev')[0]!, /guestfwd/);
  const comma = {
    ...spec,
    network: { ...spec.network, egress: { ...egress, command: '/a,b nc' } },
  };
  assert.throws(() => qemuArgs(comma, 'tcg'), /contains a comma/);
});

test('qemu args: no initrd flag without an initrd; a comma in a disk path is refused', () => {
  assert.equal(values(qemuArgs({ ...spec, initrd: undefined }, 'tcg'), '-initrd').length, 0);
  assert.throws(() => qemuArgs({ ...spec, workDisk: '/a,b/work.ext4' }, 'tcg'), /contains a comma/);
});

test('kernel command line: the driver adds its console, no PCI and TSC hints only under TCG', () => {
  const banger = ['root=/dev/vda', 'banger.hostname=blue-fox'];
  assert.equal(
    qemuCmdline(banger, 'tcg', 2596120),
    'console=ttyS0 pci=off tsc_early_khz=2596120 tsc=reliable root=/dev/vda banger.hostname=blue-fox',
  );
  assert.equal(
    qemuCmdline(banger, 'kvm', 2596120),
    'console=ttyS0 pci=off root=/dev/vda banger.hostname=blue-fox',
  );
  // An unknown host rate is left out rather than guessed.
  assert.doesNotMatch(qemuCmdline(banger, 'tcg', undefined), /tsc_early_khz/);
  assert.deepEqual(values(qemuArgs(spec, 'tcg', 1000), '-append'), [
    'console=ttyS0 pci=off tsc_early_khz=1000 tsc=reliable root=/dev/vda banger.hostname=blue-fox',
  ]);
});

test('qemu args: RAM in a file — shared for a template, private and read-only for a restore', () => {
  const template = qemuArgs({ ...spec, memory: { file: '/t/ram', shared: true } }, 'tcg');
  assert.deepEqual(values(template, '-object'), [
    'memory-backend-file,id=mem,size=1024M,mem-path=/t/ram,share=on',
  ]);
  const restored = qemuArgs(
    {
      ...spec,
      memory: { file: '/t/ram', shared: false },
      restore: { stateFile: '/t/state' },
    },
    'tcg',
  );
  assert.deepEqual(values(restored, '-object'), [
    'memory-backend-file,id=mem,size=1024M,mem-path=/t/ram,share=off',
  ]);
  assert.deepEqual(values(restored, '-incoming'), ['defer']);
  assert.ok(restored.includes('-S'), 'a restore starts paused until its state is loaded');
  assert.deepEqual(values(restored, '-global'), [], 'a template state has its configuration');
  const fork = qemuArgs({ ...spec, restore: { stateFile: '/t/state', devicesOnly: true } }, 'tcg');
  assert.deepEqual(values(fork, '-global'), ['migration.send-configuration=off']);
  assert.throws(
    () => qemuArgs({ ...spec, memory: { file: '/a,b', shared: true } }, 'tcg'),
    /comma/,
  );
});
