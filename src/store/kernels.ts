import type { Db } from './database.js';

export interface KernelRecord {
  id: string;
  name: string;
  version: string;
  source: string;
  dir: string;
  kernelFile: string;
  initrdFile: string | null;
  modulesDir: string | null;
  sha256: string;
  /** false: files registered in place, which banger never deletes. */
  managed: boolean;
  createdAt: string;
}

interface KernelRow {
  id: string;
  name: string;
  version: string;
  source: string;
  dir: string;
  kernel_file: string;
  initrd_file: string | null;
  modules_dir: string | null;
  sha256: string;
  managed: number;
  created_at: string;
}

const fromRow = (r: KernelRow): KernelRecord => ({
  id: r.id,
  name: r.name,
  version: r.version,
  source: r.source,
  dir: r.dir,
  kernelFile: r.kernel_file,
  initrdFile: r.initrd_file,
  modulesDir: r.modules_dir,
  sha256: r.sha256,
  managed: r.managed !== 0,
  createdAt: r.created_at,
});

export class KernelRepository {
  constructor(private readonly db: Db) {}

  list(): KernelRecord[] {
    return this.db.prepare<[], KernelRow>('SELECT * FROM kernels ORDER BY name').all().map(fromRow);
  }

  findByName(name: string): KernelRecord | undefined {
    const row = this.db
      .prepare<[string], KernelRow>('SELECT * FROM kernels WHERE name = ?')
      .get(name);
    return row ? fromRow(row) : undefined;
  }

  findById(id: string): KernelRecord | undefined {
    const row = this.db.prepare<[string], KernelRow>('SELECT * FROM kernels WHERE id = ?').get(id);
    return row ? fromRow(row) : undefined;
  }

  /** Names of the images that reference this kernel: `kernel rm` refuses while any do. */
  usedBy(kernelId: string): string[] {
    return this.db
      .prepare<[string], { name: string }>(
        'SELECT name FROM images WHERE kernel_id = ? ORDER BY name',
      )
      .all(kernelId)
      .map((r) => r.name);
  }

  insert(kernel: KernelRecord): void {
    this.db
      .prepare(
        `INSERT INTO kernels (id, name, version, source, dir, kernel_file, initrd_file, modules_dir,
           sha256, managed, created_at)
         VALUES (@id, @name, @version, @source, @dir, @kernelFile, @initrdFile, @modulesDir,
           @sha256, @managed, @createdAt)`,
      )
      .run({ ...kernel, managed: kernel.managed ? 1 : 0 });
  }

  delete(id: string): void {
    this.db.prepare('DELETE FROM kernels WHERE id = ?').run(id);
  }
}
