import assert from 'node:assert/strict';
import { homedir } from 'node:os';
import { test } from 'node:test';
import { KNOWN_KEYS, defaultConfig, describeValue, validateConfig } from './schema.js';

test('defaultConfig fills every default', () => {
  assert.deepEqual(defaultConfig(), {
    defaultImageName: 'debian-bookworm',
    vmDefaults: { vcpu: undefined, memoryMiB: undefined, diskBytes: undefined },
    fileSync: [],
    vmm: {
      driver: 'auto',
      accel: 'auto',
      qemuBinary: undefined,
      qemuImgBinary: undefined,
      firecrackerBinary: undefined,
      hostLimits: true,
    },
    network: {
      mode: 'user',
      subnet: '172.30.0.0/24',
      bridge: 'banger0',
      dnsPort: 42069,
      egress: 'none',
      egressPorts: [80, 443],
      egressDns: [],
      egressPort: 42070,
      vmToVm: false,
    },
    imageBuild: { mirror: undefined, packages: [] },
    catalog: { images: [], kernels: [] },
    oci: { defaultRegistry: undefined, insecureRegistries: [] },
    ssh: { manageConfig: true },
    warm: { auto: true },
    logs: { consoleMaxBytes: 8 * 1024 * 1024, sessionMaxBytes: 8 * 1024 * 1024 },
  });
});

test('[ssh]: manage_config is true or false', () => {
  const off = validateConfig({ ssh: { manage_config: false } });
  assert.ok(off.success);
  assert.deepEqual(off.data.ssh, { manageConfig: false });
  for (const bad of [{ ssh: { manage_config: 'no' } }, { ssh: { manage: false } }])
    assert.equal(validateConfig(bad).success, false, JSON.stringify(bad));
});

test('[oci]: the default registry and insecure registries are host[:port]', () => {
  const ok = validateConfig({
    oci: { default_registry: 'registry.corp:5000', insecure_registries: ['10.0.0.5:5000'] },
  });
  assert.ok(ok.success);
  assert.deepEqual(ok.data.oci, {
    defaultRegistry: 'registry.corp:5000',
    insecureRegistries: ['10.0.0.5:5000'],
  });
  for (const bad of [
    { oci: { default_registry: 'https://registry.corp' } },
    { oci: { insecure_registries: ['a b'] } },
    { oci: { registries: [] } },
  ])
    assert.equal(validateConfig(bad).success, false, JSON.stringify(bad));
});

test('image_build and catalog tables are validated', () => {
  const ok = validateConfig({
    image_build: { mirror: 'http://deb.debian.org/debian', packages: ['jq', 'build-essential'] },
    catalog: {
      images: ['/srv/catalog.json', 'https://example.invalid/images.json'],
      kernels: ['~/k.json'],
    },
  });
  assert.ok(ok.success);
  assert.deepEqual(ok.data.imageBuild.packages, ['jq', 'build-essential']);
  assert.deepEqual(ok.data.catalog.kernels, [`${homedir()}/k.json`]);
  for (const bad of [
    { image_build: { mirror: 'deb.debian.org' } },
    { image_build: { packages: ['Not A Package'] } },
    { catalog: { images: ['relative.json'] } },
    { catalog: { image: [] } },
  ])
    assert.equal(validateConfig(bad).success, false, JSON.stringify(bad));
});

test('defaultConfig returns a fresh object each call', () => {
  const a = defaultConfig();
  a.fileSync.push({ host: '~/x', guest: '~/x', mode: undefined });
  assert.deepEqual(defaultConfig().fileSync, []);
});

test('validateConfig works on already-parsed data and keeps issue paths', () => {
  const good = validateConfig({
    vm_defaults: { memory: '1.5G' },
    network: { subnet: '172.30.0.0/24' },
  });
  assert.ok(good.success);
  assert.equal(good.data.vmDefaults.memoryMiB, 1536);
  assert.equal(good.data.network.subnet, '172.30.0.0/24');

  const bad = validateConfig({ file_sync: [{ host: '~/a', guest: '/etc/a' }] });
  assert.ok(!bad.success);
  assert.deepEqual(bad.error.issues[0]?.path, ['file_sync', 0, 'guest']);
  assert.match(bad.error.issues[0]?.message ?? '', /outside the guest home/);
});

test('guest paths on the work disk are accepted', () => {
  for (const guest of ['~', '~/', '~/a/b', '/root', '/root/', '/root/.config/x', '~/a..b']) {
    const result = validateConfig({ file_sync: [{ host: '/h', guest }] });
    assert.ok(result.success, guest);
  }
});

test('KNOWN_KEYS lists each table', () => {
  assert.deepEqual(KNOWN_KEYS['vm_defaults'], ['vcpu', 'memory', 'disk_size']);
  assert.deepEqual(KNOWN_KEYS['file_sync'], ['host', 'guest', 'mode']);
  assert.ok(KNOWN_KEYS['']?.includes('default_image_name'));
});

test('describeValue quotes strings and names tables', () => {
  assert.equal(describeValue('kvm'), '"kvm"');
  assert.equal(describeValue(3), '3');
  assert.equal(describeValue(false), 'false');
  assert.equal(describeValue([1]), 'an array');
  assert.equal(describeValue({}), 'a table');
  assert.equal(describeValue(new Date(0)), 'a date');
});

test('[warm]: auto is true or false, true by default', () => {
  const off = validateConfig({ warm: { auto: false } });
  assert.ok(off.success);
  assert.deepEqual(off.data.warm, { auto: false });
  for (const bad of [{ warm: { auto: 'yes' } }, { warm: { automatic: true } }])
    assert.equal(validateConfig(bad).success, false, JSON.stringify(bad));
});
