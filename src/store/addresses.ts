import type { Db } from './database.js';

/**
 * Tap-mode guest addresses, one row per VM: taken in one synchronous transaction (no other
 * create slips in between, and the primary key refuses a duplicate even so), given back at
 * delete. Durable: a VM keeps its address across restarts of it and of the daemon.
 */
export class AddressRepository {
  constructor(private readonly db: Db) {}

  /** The VM's address: the one it has, else the first `pick` gives for those taken. */
  allocate(
    vmId: string,
    pick: (taken: ReadonlySet<string>) => string | undefined,
  ): string | undefined {
    return this.db.transaction(() => {
      const have = this.db
        .prepare<[string], { ip: string }>('SELECT ip FROM addresses WHERE vm_id = ?')
        .get(vmId);
      if (have) return have.ip;
      const ip = pick(this.taken());
      if (ip) this.db.prepare('INSERT INTO addresses (ip, vm_id) VALUES (?, ?)').run(ip, vmId);
      return ip;
    })();
  }

  release(vmId: string): void {
    this.db.prepare('DELETE FROM addresses WHERE vm_id = ?').run(vmId);
  }

  taken(): Set<string> {
    return new Set(
      this.db
        .prepare<[], { ip: string }>('SELECT ip FROM addresses')
        .all()
        .map((r) => r.ip),
    );
  }

  /** Rows whose VM is gone (a create killed between the address and the record). */
  releaseOrphans(): number {
    return this.db.prepare('DELETE FROM addresses WHERE vm_id NOT IN (SELECT id FROM vms)').run()
      .changes;
  }
}
