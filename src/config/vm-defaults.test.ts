import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultConfig } from './schema.js';
import { GiB } from './size.js';
import { describeProvenance, formatSpecLine, resolveVmDefaults } from './vm-defaults.js';

test('config values win over the host heuristic', () => {
  const config = defaultConfig();
  config.vmDefaults = { vcpu: 3, memoryMiB: 1536, diskBytes: 20 * GiB };
  const resolved = resolveVmDefaults(config, { cpus: 64, memoryBytes: 256 * GiB });
  assert.deepEqual(resolved, {
    vcpu: { value: 3, source: 'config' },
    memoryMiB: { value: 1536, source: 'config' },
    diskBytes: { value: 20 * GiB, source: 'config' },
  });
  assert.equal(
    describeProvenance(resolved),
    'vcpu 3 (config) · memory 1536 MiB (config) · disk 20G (config)',
  );
});

test('a big host gets capped heuristics', () => {
  const resolved = resolveVmDefaults(defaultConfig(), { cpus: 16, memoryBytes: 64 * GiB });
  assert.deepEqual(resolved.vcpu, { value: 4, source: 'auto' });
  assert.deepEqual(resolved.memoryMiB, { value: 8192, source: 'auto' });
  assert.deepEqual(resolved.diskBytes, { value: 8 * GiB, source: 'builtin' });
  const huge = resolveVmDefaults(defaultConfig(), { cpus: 128, memoryBytes: 1024 * GiB });
  assert.equal(huge.vcpu.value, 4);
  assert.equal(huge.memoryMiB.value, 8192);
});

test('a small host mixes builtin and auto', () => {
  const resolved = resolveVmDefaults(defaultConfig(), { cpus: 2, memoryBytes: 24 * GiB });
  assert.deepEqual(resolved.vcpu, { value: 2, source: 'builtin' });
  assert.deepEqual(resolved.memoryMiB, { value: 3072, source: 'auto' });
  assert.equal(
    describeProvenance(resolved),
    'vcpu 2 (builtin) · memory 3072 MiB (auto) · disk 8G (builtin)',
  );
});

test('a tiny host falls back to the builtin floors', () => {
  const resolved = resolveVmDefaults(defaultConfig(), { cpus: 1, memoryBytes: 2 * GiB });
  assert.deepEqual(resolved, {
    vcpu: { value: 2, source: 'builtin' },
    memoryMiB: { value: 1024, source: 'builtin' },
    diskBytes: { value: 8 * GiB, source: 'builtin' },
  });
});

test('heuristics equal to the floor count as auto; memory rounds down to 256 MiB', () => {
  const resolved = resolveVmDefaults(defaultConfig(), { cpus: 8, memoryBytes: 9 * GiB });
  assert.deepEqual(resolved.vcpu, { value: 2, source: 'auto' });
  assert.deepEqual(resolved.memoryMiB, { value: 1024, source: 'auto' });
  const odd = resolveVmDefaults(defaultConfig(), { cpus: 12, memoryBytes: 30 * GiB });
  assert.deepEqual(odd.vcpu, { value: 3, source: 'auto' });
  assert.deepEqual(odd.memoryMiB, { value: 3840, source: 'auto' });
});

test('unknown host resources resolve to the floors', () => {
  const resolved = resolveVmDefaults(defaultConfig(), { cpus: Number.NaN, memoryBytes: 0 });
  assert.equal(resolved.vcpu.source, 'builtin');
  assert.equal(resolved.memoryMiB.source, 'builtin');
});

test('formatSpecLine prints the spec, with the VMM when known', () => {
  const spec = { vcpu: 2, memoryMiB: 1024, diskBytes: 8 * GiB };
  assert.equal(formatSpecLine(spec), 'spec: 2 vcpu · 1024 MiB · 8G disk');
  assert.equal(formatSpecLine(spec, 'qemu/tcg'), 'spec: 2 vcpu · 1024 MiB · 8G disk · qemu/tcg');
  assert.equal(
    formatSpecLine({ vcpu: 4, memoryMiB: 8192, diskBytes: 1.5 * GiB }),
    'spec: 4 vcpu · 8192 MiB · 1.5G disk',
  );
});
