import type { Db } from './database.js';

export interface ImageRecord {
  id: string;
  name: string;
  managed: boolean;
  distro: string;
  arch: string;
  description: string;
  source: string;
  dir: string;
  rootfsFile: string;
  sizeBytes: number;
  kernelId: string | null;
  createdAt: string;
  /** Set for an image pulled from an OCI registry. */
  oci?: OciImageInfo | null | undefined;
}

/** What an OCI image was, and how its config says its processes run (as `docker run`). */
export interface OciImageInfo {
  /** The reference it was pulled by, normalised (registry/repository:tag or @digest). */
  reference: string;
  /** The manifest's digest (sha256:…), for `image show` and a later re-pull. */
  digest: string;
  env: string[];
  workingDir: string;
  user: string;
}

interface ImageRow {
  id: string;
  name: string;
  managed: number;
  distro: string;
  arch: string;
  description: string;
  source: string;
  dir: string;
  rootfs_file: string;
  size_bytes: number;
  kernel_id: string | null;
  created_at: string;
  oci: string | null;
}

const fromRow = (r: ImageRow): ImageRecord => ({
  id: r.id,
  name: r.name,
  managed: r.managed !== 0,
  distro: r.distro,
  arch: r.arch,
  description: r.description,
  source: r.source,
  dir: r.dir,
  rootfsFile: r.rootfs_file,
  sizeBytes: r.size_bytes,
  kernelId: r.kernel_id,
  createdAt: r.created_at,
  oci: r.oci ? (JSON.parse(r.oci) as OciImageInfo) : null,
});

export class ImageRepository {
  constructor(private readonly db: Db) {}

  list(): ImageRecord[] {
    return this.db.prepare<[], ImageRow>('SELECT * FROM images ORDER BY name').all().map(fromRow);
  }

  findByName(name: string): ImageRecord | undefined {
    const row = this.db
      .prepare<[string], ImageRow>('SELECT * FROM images WHERE name = ?')
      .get(name);
    return row ? fromRow(row) : undefined;
  }

  findById(id: string): ImageRecord | undefined {
    const row = this.db.prepare<[string], ImageRow>('SELECT * FROM images WHERE id = ?').get(id);
    return row ? fromRow(row) : undefined;
  }

  insert(image: ImageRecord): void {
    this.db
      .prepare(
        `INSERT INTO images (id, name, managed, distro, arch, description, source, dir, rootfs_file,
           size_bytes, kernel_id, created_at, oci)
         VALUES (@id, @name, @managed, @distro, @arch, @description, @source, @dir, @rootfsFile,
           @sizeBytes, @kernelId, @createdAt, @oci)`,
      )
      .run({
        ...image,
        managed: image.managed ? 1 : 0,
        oci: image.oci ? JSON.stringify(image.oci) : null,
      });
  }

  delete(id: string): void {
    this.db.prepare('DELETE FROM images WHERE id = ?').run(id);
  }
}
