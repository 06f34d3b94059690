import { readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { z } from 'zod';
import { BangerError, ErrorCode } from '../errors.js';

export interface KernelFiles {
  kernel: string;
  initrd?: string;
  modulesDir?: string;
  version: string;
}

const metadataSchema = z.strictObject({
  kernel: z.string(),
  initrd: z.string().optional(),
  modules: z.string().optional(),
  version: z.string().optional(),
});

/**
 * Finds a kernel in a directory, as `kernel import` takes it: metadata.json when present
 * ({"kernel", "initrd", "modules", "version"}, paths relative to the directory), else the
 * usual names — vmlinux/vmlinuz (top level or boot/*-VERSION), initrd.img / initramfs-*,
 * lib/modules/<newest>.
 */
export async function discoverKernel(dir: string): Promise<KernelFiles> {
  const root = resolve(dir);
  const inside = (rel: string, what: string) => {
    const path = resolve(root, rel);
    if (path !== root && !path.startsWith(root + sep))
      throw new BangerError(
        ErrorCode.InvalidParams,
        `metadata.json: ${what} "${rel}" points outside ${root}`,
      );
    return path;
  };
  const metaText = await readFile(join(root, 'metadata.json'), 'utf8').catch(() => undefined);
  if (metaText !== undefined) {
    const parsed = metadataSchema.safeParse(JSON.parse(metaText));
    if (!parsed.success)
      throw new BangerError(
        ErrorCode.InvalidParams,
        `${join(root, 'metadata.json')}: ${parsed.error.issues[0]?.message}`,
        {
          hint: 'expected {"kernel": "...", "initrd": "...", "modules": "...", "version": "..."}',
        },
      );
    const m = parsed.data;
    const kernel = inside(m.kernel, 'kernel');
    await mustExist(kernel, 'kernel');
    return {
      kernel,
      ...(m.initrd ? { initrd: inside(m.initrd, 'initrd') } : {}),
      ...(m.modules ? { modulesDir: inside(m.modules, 'modules') } : {}),
      version: m.version ?? versionOf(m.kernel),
    };
  }
  const top = await names(root);
  const boot = await names(join(root, 'boot'));
  const pick = (list: string[], prefixes: string[]) =>
    list
      .filter((n) => prefixes.some((p) => n === p || n.startsWith(`${p}-`)))
      .sort()
      .at(-1);
  const kernelTop = pick(top, ['vmlinux', 'vmlinuz']);
  const kernelBoot = pick(boot, ['vmlinux']) ?? pick(boot, ['vmlinuz']);
  const kernel = kernelTop
    ? join(root, kernelTop)
    : kernelBoot
      ? join(root, 'boot', kernelBoot)
      : undefined;
  if (!kernel)
    throw new BangerError(
      ErrorCode.NotFound,
      `no kernel in ${root}: expected vmlinux or vmlinuz (or boot/vmlinuz-VERSION)`,
      {
        hint: 'or describe the files in metadata.json',
      },
    );
  const initrdTop = pick(top, ['initrd.img', 'initrd', 'initramfs']);
  const initrdBoot = pick(boot, ['initrd.img', 'initramfs']);
  const initrd = initrdTop
    ? join(root, initrdTop)
    : initrdBoot
      ? join(root, 'boot', initrdBoot)
      : undefined;
  const moduleVersions = (await names(join(root, 'lib/modules'))).sort();
  const newest = moduleVersions.at(-1);
  return {
    kernel,
    ...(initrd ? { initrd } : {}),
    ...(newest ? { modulesDir: join(root, 'lib/modules', newest) } : {}),
    version: versionOf(kernel) || newest || '',
  };
}

function versionOf(path: string): string {
  const m = /vmlinu[xz]-(.+)$/.exec(path);
  return m?.[1] ?? '';
}

async function names(dir: string): Promise<string[]> {
  return readdir(dir).catch(() => []);
}

async function mustExist(path: string, what: string): Promise<void> {
  if (
    !(await stat(path).then(
      (s) => s.isFile(),
      () => false,
    ))
  )
    throw new BangerError(
      ErrorCode.NotFound,
      `metadata.json names ${what} ${path}, which is not a file`,
    );
}
