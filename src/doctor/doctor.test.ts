import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { resolveLayout } from '../config/layout.js';
import { realRunner } from '../system/runner.js';
import { missingPackages, worst } from './check.js';
import { runDoctor } from './doctor.js';
import {
  checkDeviceMapper,
  checkKvm,
  checkNetworkModes,
  checkNode,
  checkTun,
  checkVmNames,
} from './host-checks.js';
import { tapSupport } from '../net/tap/host-support.js';
import { checkTool, TOOLS } from './tools.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bgr-doc-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function fakeRoot(name: string, modules: string[], devices: string[]): Promise<string> {
  const root = join(dir, name);
  for (const m of modules) await mkdir(join(root, 'sys/module', m), { recursive: true });
  for (const d of devices) {
    await mkdir(join(root, d, '..'), { recursive: true });
    await writeFile(join(root, d), '');
  }
  return root;
}

/** A tiny fixture program on PATH, as execa's tests do, instead of a mock. */
async function fixtureBin(name: string, script: string): Promise<string> {
  const bin = join(dir, 'bin');
  await mkdir(bin, { recursive: true });
  await writeFile(join(bin, name), `#!/bin/sh\n${script}\n`);
  await chmod(join(bin, name), 0o755);
  return bin;
}

test('kvm_pvm alone is not usable KVM: TCG emulation, slow', async () => {
  const r = await checkKvm(await fakeRoot('pvm', ['kvm', 'kvm_pvm'], ['dev/kvm']));
  assert.equal(r.verdict, 'warn');
  assert.match(r.detail, /kvm_pvm.*TCG emulation, slow/);
});

test('kvm_intel with a read-writable /dev/kvm is usable', async () => {
  const r = await checkKvm(await fakeRoot('intel', ['kvm', 'kvm_intel'], ['dev/kvm']));
  assert.equal(r.verdict, 'ok');
  assert.match(r.detail, /kvm_intel/);
});

test('kvm_amd without /dev/kvm is not usable', async () => {
  const r = await checkKvm(await fakeRoot('amd-nodev', ['kvm', 'kvm_amd'], []));
  assert.equal(r.verdict, 'warn');
  assert.match(r.detail, /dev\/kvm is missing/);
});

test('tun and device-mapper checks warn with a fix when absent', async () => {
  const empty = await fakeRoot('empty', [], []);
  assert.equal((await checkTun(empty)).verdict, 'warn');
  assert.equal((await checkDeviceMapper(empty)).verdict, 'warn');
  const full = await fakeRoot('full', [], ['dev/net/tun', 'dev/mapper/control']);
  assert.equal((await checkTun(full)).verdict, 'ok');
  assert.equal((await checkDeviceMapper(full)).verdict, 'ok');
});

test('network modes: user always; tap when the host has all it needs, else what lacks and the fix', async () => {
  const all = await checkNetworkModes(() => Promise.resolve({ ok: true, missing: [] }));
  assert.deepEqual(all, {
    name: 'network modes',
    verdict: 'ok',
    detail: 'user, tap (--network tap)',
  });
  const some = await checkNetworkModes(() =>
    Promise.resolve({
      ok: false,
      missing: [
        { what: 'root or CAP_NET_ADMIN', fix: 'run bangerd as root' },
        { what: 'the nft program', fix: 'apt-get install nftables' },
      ],
    }),
  );
  assert.equal(some.verdict, 'warn');
  assert.equal(some.detail, 'user only: tap needs root or CAP_NET_ADMIN, the nft program');
  assert.equal(some.fix, 'run bangerd as root; apt-get install nftables');
  assert.deepEqual(some.packages, ['nftables']);
});

test('tap support reads capabilities and programs; an unprivileged process lacks CAP_NET_ADMIN', async () => {
  const status = join(dir, 'status');
  await writeFile(status, 'Name:\tx\nCapEff:\t0000000000000000\n');
  const none = await tapSupport({ procStatus: status, which: () => undefined });
  assert.deepEqual(
    none.missing.map((m) => m.what).filter((w) => w !== '/dev/net/tun' && w !== 'bridge support'),
    ['root or CAP_NET_ADMIN', 'the ip program', 'the nft program'],
  );
  await writeFile(status, 'CapEff:\t0000000000001000\n');
  const admin = await tapSupport({ procStatus: status, which: () => undefined });
  assert.equal(
    admin.missing.some((m) => m.what === 'root or CAP_NET_ADMIN'),
    false,
  );
});

test('name.vm: says how names resolve with and without systemd-resolved', async () => {
  assert.match(
    (await checkVmNames(join(dir, 'no-root'))).detail,
    /no systemd-resolved: `ssh NAME\.vm`/,
  );
  await mkdir(join(dir, 'r/run/systemd/resolve'), { recursive: true });
  await writeFile(join(dir, 'r/run/systemd/resolve/io.systemd.Resolve'), '');
  assert.match((await checkVmNames(join(dir, 'r'))).detail, /systemd-resolved runs/);
});

test('node version floor', () => {
  assert.equal(checkNode('20.20.2').verdict, 'ok');
  assert.equal(checkNode('22.1.0').verdict, 'ok');
  assert.equal(checkNode('20.11.0').verdict, 'fail');
  assert.equal(checkNode('18.19.0').verdict, 'fail');
});

test('a tool on PATH reports its version line; a missing one fails naming its package', async () => {
  const bin = await fixtureBin('qemu-system-x86_64', 'echo "QEMU emulator version 9.9.9"');
  const qemu = TOOLS.find((t) => t.name === 'qemu-system-x86_64')!;
  const found = await checkTool(qemu, realRunner, bin);
  assert.equal(found.verdict, 'ok');
  assert.match(found.detail, /^QEMU emulator version 9\.9\.9 \(.*qemu-system-x86_64\)$/);

  const mmdebstrap = {
    ...TOOLS.find((t) => t.name === 'mmdebstrap')!,
    name: 'mmdebstrap-absent-for-test',
  };
  const missing = await checkTool(mmdebstrap, realRunner, bin);
  assert.equal(missing.verdict, 'fail');
  assert.deepEqual(missing.packages, ['mmdebstrap']);
  assert.equal(worst([found, missing]), 'fail');
  assert.deepEqual(missingPackages([found, missing, missing]), ['mmdebstrap']);

  const fc = TOOLS.find((t) => t.name === 'firecracker')!;
  assert.equal(
    (await checkTool({ ...fc, name: 'firecracker-absent' }, realRunner, bin)).verdict,
    'ok',
    'firecracker is optional',
  );
});

test('patchelf, which the guest kit build needs, is checked: missing, it names its package', async () => {
  const patchelf = TOOLS.find((t) => t.name === 'patchelf');
  assert.ok(patchelf, 'patchelf is a listed host tool');
  assert.equal(patchelf.optional, undefined);
  const bin = await fixtureBin('patchelf', 'echo "patchelf 0.14.3"');
  const found = await checkTool(patchelf, realRunner, bin);
  assert.match(found.detail, /^patchelf 0\.14\.3 \(.*patchelf\)$/);
  const missing = await checkTool(patchelf, realRunner, join(dir, 'empty'));
  assert.equal(missing.verdict, 'fail');
  assert.equal(missing.detail, 'not found (builds the guest kit pulled images boot with)');
  assert.equal(missing.fix, 'apt-get install patchelf');
  assert.deepEqual(missing.packages, ['patchelf']);
});

test('the full doctor reports config provenance, a bad config, and the default image', async () => {
  const layout = resolveLayout({
    HOME: dir,
    XDG_CONFIG_HOME: join(dir, 'cfg'),
    XDG_STATE_HOME: join(dir, 'st'),
    XDG_RUNTIME_DIR: join(dir, 'rt'),
  });
  await mkdir(layout.configDir, { recursive: true });
  await writeFile(layout.configFile, '[vm_defaults]\nvcpu = 3\n');
  const results = await runDoctor({
    layout,
    runner: realRunner,
    localImages: () => Promise.resolve(['debian-bookworm']),
  });
  const byName = new Map(results.map((r) => [r.name, r]));
  assert.match(byName.get('vm defaults')!.detail, /vcpu 3 \(config\)/);
  assert.ok(byName.get('vm defaults')!.detail.includes(layout.configFile));
  assert.equal(byName.get('image debian-bookworm')?.verdict, 'ok');
  for (const t of TOOLS) assert.ok(byName.has(t.name), t.name);

  await writeFile(layout.configFile, '[vmm]\naccel = "warp"\n');
  const bad = await runDoctor({
    layout,
    runner: realRunner,
    localImages: () => Promise.resolve([]),
  });
  const config = bad.find((r) => r.name === 'config')!;
  assert.equal(config.verdict, 'fail');
  assert.match(config.detail, /vmm\.accel/);

  await writeFile(layout.configFile, '');
  const noImage = await runDoctor({
    layout,
    runner: realRunner,
    localImages: () => Promise.reject(new Error('daemon down')),
  });
  assert.equal(noImage.find((r) => r.name === 'bangerd')?.verdict, 'fail');
});
