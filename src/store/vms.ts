import type { Db } from './database.js';

export type VmState = 'created' | 'running' | 'stopped' | 'error';

/** What a VM is. What is currently true of it (pid, ports) lives in handles.json instead. */
export interface VmRecord {
  id: string;
  name: string;
  imageId: string;
  state: VmState;
  vcpu: number;
  memoryMiB: number;
  diskBytes: number;
  networkMode: 'user' | 'tap';
  /** Egress is `all`: the guest reaches outside networks directly. */
  nat: boolean;
  /** What the guest may reach outside (egress/policy.ts): `none`, `all` or a list of names. */
  egress: string;
  guestIp: string | null;
  /** 127.0.0.1 port forwarded to the guest's sshd (user networking); 0 when none. */
  sshPort: number;
  dir: string;
  lastError: string | null;
  createdAt: string;
  updatedAt: string;
  /** Who deletes it when they end (`mcp:<pid>:<session>`); null for a user's own VM. */
  owner: string | null;
}

interface VmRow {
  id: string;
  name: string;
  image_id: string;
  state: VmState;
  vcpu: number;
  memory_mib: number;
  disk_bytes: number;
  network_mode: 'user' | 'tap';
  nat: number;
  egress: string;
  guest_ip: string | null;
  ssh_port: number;
  dir: string;
  last_error: string | null;
  created_at: string;
  updated_at: string;
  owner: string | null;
}

const fromRow = (r: VmRow): VmRecord => ({
  id: r.id,
  name: r.name,
  imageId: r.image_id,
  state: r.state,
  vcpu: r.vcpu,
  memoryMiB: r.memory_mib,
  diskBytes: r.disk_bytes,
  networkMode: r.network_mode,
  nat: r.egress === 'all',
  egress: r.egress,
  guestIp: r.guest_ip,
  sshPort: r.ssh_port,
  dir: r.dir,
  lastError: r.last_error,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  owner: r.owner,
});

export class VmRepository {
  constructor(private readonly db: Db) {}

  list(): VmRecord[] {
    return this.db
      .prepare<[], VmRow>('SELECT * FROM vms ORDER BY created_at, name')
      .all()
      .map(fromRow);
  }

  names(): string[] {
    return this.db
      .prepare<[], { name: string }>('SELECT name FROM vms ORDER BY name')
      .all()
      .map((r) => r.name);
  }

  /** By exact name, else by id or unique id prefix (as the reference's vm refs resolve). */
  find(ref: string): VmRecord | undefined {
    const byName = this.db.prepare<[string], VmRow>('SELECT * FROM vms WHERE name = ?').get(ref);
    if (byName) return fromRow(byName);
    const byId = this.db
      .prepare<[string], VmRow>("SELECT * FROM vms WHERE id LIKE ? || '%' LIMIT 2")
      .all(ref);
    return byId.length === 1 ? fromRow(byId[0]!) : undefined;
  }

  usingImage(imageId: string): string[] {
    return this.db
      .prepare<[string], { name: string }>('SELECT name FROM vms WHERE image_id = ? ORDER BY name')
      .all(imageId)
      .map((r) => r.name);
  }

  insert(vm: VmRecord): void {
    this.db
      .prepare(
        `INSERT INTO vms (id, name, image_id, state, vcpu, memory_mib, disk_bytes, network_mode, nat,
           egress, guest_ip, ssh_port, dir, last_error, created_at, updated_at, owner)
         VALUES (@id, @name, @imageId, @state, @vcpu, @memoryMiB, @diskBytes, @networkMode, @nat,
           @egress, @guestIp, @sshPort, @dir, @lastError, @createdAt, @updatedAt, @owner)`,
      )
      .run({ ...vm, nat: vm.egress === 'all' ? 1 : 0 });
  }

  setState(id: string, state: VmState, lastError: string | null, now = new Date()): void {
    this.db
      .prepare('UPDATE vms SET state = ?, last_error = ?, updated_at = ? WHERE id = ?')
      .run(state, lastError, now.toISOString(), id);
  }

  findByName(name: string): VmRecord | undefined {
    const row = this.db.prepare<[string], VmRow>('SELECT * FROM vms WHERE name = ?').get(name);
    return row ? fromRow(row) : undefined;
  }

  setSpec(
    id: string,
    spec: { vcpu: number; memoryMiB: number; diskBytes: number },
    now = new Date(),
  ): void {
    this.db
      .prepare(
        'UPDATE vms SET vcpu = ?, memory_mib = ?, disk_bytes = ?, updated_at = ? WHERE id = ?',
      )
      .run(spec.vcpu, spec.memoryMiB, spec.diskBytes, now.toISOString(), id);
  }

  /** The guest's egress (`vm set --egress`); nat follows it. */
  setEgress(id: string, egress: string, now = new Date()): void {
    this.db
      .prepare('UPDATE vms SET egress = ?, nat = ?, updated_at = ? WHERE id = ?')
      .run(egress, egress === 'all' ? 1 : 0, now.toISOString(), id);
  }

  setSshPort(id: string, port: number, now = new Date()): void {
    this.db
      .prepare('UPDATE vms SET ssh_port = ?, updated_at = ? WHERE id = ?')
      .run(port, now.toISOString(), id);
  }

  delete(id: string): void {
    this.db.prepare('DELETE FROM vms WHERE id = ?').run(id);
  }
}
