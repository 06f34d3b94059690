import { readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { BangerError, ErrorCode } from '../errors.js';
import { assetPath } from '../guest/install.js';
import { CpioWriter } from './cpio.js';

/**
 * The drivers a banger VM needs before its root file system is reachable: virtio-mmio (the
 * bus of QEMU microvm and Firecracker), the block driver, and the NIC so the network
 * bootstrap finds eth0 at once. Everything else loads from the guest's own /lib/modules.
 */
export const INITRAMFS_MODULES = ['virtio_mmio', 'virtio_blk', 'virtio_net'] as const;

export interface InitramfsInput {
  /** The kernel's module tree, e.g. <rootfs>/usr/lib/modules/6.1.0-56-cloud-amd64. */
  modulesDir: string;
  /** A statically linked busybox. */
  busybox: string;
  outFile: string;
  modules?: readonly string[];
}

/** Builds an uncompressed newc initramfs; returns the module paths it loads, in load order. */
export async function buildInitramfs(input: InitramfsInput): Promise<string[]> {
  const version = basename(input.modulesDir);
  const order = moduleLoadOrder(
    await readFile(join(input.modulesDir, 'modules.dep'), 'utf8'),
    await readFile(join(input.modulesDir, 'modules.builtin'), 'utf8').catch(() => ''),
    input.modules ?? INITRAMFS_MODULES,
  );
  const cpio = new CpioWriter();
  cpio
    .dir('dev')
    .charDevice('dev/console', 5, 1)
    .dir('bin')
    .dir('etc')
    .dir('proc')
    .dir('sys')
    .dir('newroot');
  cpio.file('bin/busybox', await readFile(input.busybox), 0o755);
  cpio.file('init', await readFile(assetPath('initramfs-init')), 0o755);
  const loaded: string[] = [];
  for (const rel of order) {
    const path = `lib/modules/${version}/${rel}`;
    cpio.parents(path).file(path, await readFile(join(input.modulesDir, rel)), 0o644);
    loaded.push(`${version}/${rel}`);
  }
  cpio.file('etc/banger-modules', Buffer.from(loaded.map((l) => `${l}\n`).join('')), 0o644);
  await writeFile(input.outFile, cpio.finish(), { mode: 0o644 });
  return loaded;
}

/**
 * The modules to insmod for `wanted`, dependencies first, each once, from modules.dep
 * ("path.ko: dep.ko dep2.ko"). Built-in modules need nothing; an unknown one is an error.
 */
export function moduleLoadOrder(
  modulesDep: string,
  modulesBuiltin: string,
  wanted: readonly string[],
): string[] {
  const deps = new Map<string, string[]>();
  const byName = new Map<string, string>();
  for (const line of modulesDep.split('\n')) {
    const [path, rest] = line.split(':');
    if (!path || rest === undefined) continue;
    deps.set(path, rest.trim() ? rest.trim().split(/\s+/) : []);
    byName.set(moduleName(path), path);
  }
  const builtin = new Set(modulesBuiltin.split('\n').filter(Boolean).map(moduleName));
  const order: string[] = [];
  const visit = (path: string, chain: string[]) => {
    if (order.includes(path)) return;
    if (chain.includes(path))
      throw new BangerError(
        ErrorCode.Internal,
        `module dependency cycle: ${[...chain, path].join(' -> ')}`,
      );
    for (const dep of deps.get(path) ?? []) visit(dep, [...chain, path]);
    order.push(path);
  };
  for (const name of wanted) {
    const key = name.replaceAll('-', '_');
    if (builtin.has(key)) continue;
    const path = byName.get(key);
    if (!path)
      throw new BangerError(
        ErrorCode.NotFound,
        `kernel module ${name} is neither built in nor in modules.dep`,
        {
          hint: 'the kernel needs virtio-mmio and virtio-blk support (built in or as modules)',
        },
      );
    visit(path, []);
  }
  return order;
}

function moduleName(path: string): string {
  return basename(path)
    .replace(/\.ko(\.(xz|zst|gz))?$/, '')
    .replaceAll('-', '_');
}
