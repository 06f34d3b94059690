import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { STAGING_SUFFIX, TemplateFileName, vmFiles } from '../../config/layout.js';
import type { BootIdSite } from './boot-id.js';
import { templateKey, type TemplateShape } from './shape.js';

// Warm-start templates on disk: `templates/<key>/` in the cache dir, one per shape, made in
// `<key>.staging` and published by rename with template.json written last, so a directory
// without it is never used. A template is only ever read by the VMs it starts (their RAM
// maps memory.ram copy-on-write, their disks are copies), so removing one never breaks a
// VM: a running VM keeps its mapping of the removed file, a stopped one boots cold.

export interface TemplateMeta extends TemplateShape {
  key: string;
  /** The image's name when the template was made (for listings). */
  imageName: string;
  createdAt: string;
  /** How long the template's VM took from launch to "sshd ready", for the logs. */
  bootMs: number;
  /** Where its RAM holds its boot_id: rewritten in each resumed VM (boot-id.ts). */
  bootIdSites: BootIdSite[];
}

export interface TemplateFiles {
  dir: string;
  memory: string;
  state: string;
  meta: string;
  systemDisk: string;
  workDisk: string;
}

export function templateFiles(dir: string): TemplateFiles {
  const vm = vmFiles(dir);
  return {
    dir,
    memory: join(dir, TemplateFileName.memory),
    state: join(dir, TemplateFileName.state),
    meta: join(dir, TemplateFileName.meta),
    systemDisk: vm.systemDisk,
    workDisk: vm.workDisk,
  };
}

export class TemplateStore {
  constructor(readonly dir: string) {}

  filesOf(key: string): TemplateFiles {
    return templateFiles(join(this.dir, key));
  }

  /** The template made for exactly this shape, when there is a complete one. */
  async find(shape: TemplateShape): Promise<TemplateMeta | undefined> {
    return this.read(templateKey(shape));
  }

  async list(): Promise<TemplateMeta[]> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    const metas = await Promise.all(
      names.filter((n) => !n.endsWith(STAGING_SUFFIX)).map((n) => this.read(n)),
    );
    return metas.filter((m): m is TemplateMeta => m !== undefined);
  }

  async remove(key: string): Promise<void> {
    await rm(join(this.dir, key), { recursive: true, force: true });
  }

  /** Bytes the template really occupies (its files are sparse). */
  async allocatedBytes(key: string): Promise<number> {
    const files = this.filesOf(key);
    let total = 0;
    for (const file of [files.memory, files.state, files.systemDisk, files.workDisk]) {
      const s = await stat(file).catch(() => undefined);
      total += s ? s.blocks * 512 : 0;
    }
    return total;
  }

  private async read(key: string): Promise<TemplateMeta | undefined> {
    const files = this.filesOf(key);
    const text = await readFile(files.meta, 'utf8').catch(() => undefined);
    if (text === undefined) return undefined;
    try {
      const meta = JSON.parse(text) as TemplateMeta;
      if (meta.key !== key) return undefined;
      for (const file of [files.memory, files.state, files.systemDisk, files.workDisk])
        await stat(file);
      return meta;
    } catch {
      return undefined;
    }
  }
}
