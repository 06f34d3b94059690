import { BangerError, ErrorCode } from '../errors.js';
import type { Db } from './database.js';

/** A TCP port of a VM published on 127.0.0.1 of the host. */
export interface PublishedPort {
  guestPort: number;
  hostPort: number;
}

interface Row {
  vm_id: string;
  guest_port: number;
  host_port: number;
}

/**
 * The ports published to each VM: durable intent, restored at every start of the VM and of
 * the daemon, removed with the VM (ON DELETE CASCADE). A host port is UNIQUE across VMs.
 */
export class PublishedPortRepository {
  constructor(private readonly db: Db) {}

  /** The VM's published ports, by guest port. */
  forVm(vmId: string): PublishedPort[] {
    return this.db
      .prepare<[string], Row>('SELECT * FROM published_ports WHERE vm_id = ? ORDER BY guest_port')
      .all(vmId)
      .map((r) => ({ guestPort: r.guest_port, hostPort: r.host_port }));
  }

  /** Which VM (and guest port) a host port is published to, if any. */
  byHostPort(hostPort: number): { vmId: string; guestPort: number } | undefined {
    const row = this.db
      .prepare<[number], Row>('SELECT * FROM published_ports WHERE host_port = ?')
      .get(hostPort);
    return row ? { vmId: row.vm_id, guestPort: row.guest_port } : undefined;
  }

  /** Every host port published to any VM. */
  hostPorts(): Set<number> {
    return new Set(
      this.db
        .prepare<[], { host_port: number }>('SELECT host_port FROM published_ports')
        .all()
        .map((r) => r.host_port),
    );
  }

  /** All or none: a host port another VM holds fails the whole call (UNIQUE). */
  add(vmId: string, ports: readonly PublishedPort[], now = new Date()): void {
    const insert = this.db.prepare(
      'INSERT INTO published_ports (vm_id, guest_port, host_port, created_at) VALUES (?, ?, ?, ?)',
    );
    this.db.transaction(() => {
      for (const p of ports) {
        try {
          insert.run(vmId, p.guestPort, p.hostPort, now.toISOString());
        } catch (err) {
          // Two creates raced for one host port: the loser gets a sentence, not SQLite's.
          const message = (err as Error).message;
          if (/UNIQUE constraint failed: published_ports\.host_port/.test(message))
            throw new BangerError(
              ErrorCode.Conflict,
              `host port ${p.hostPort} (for guest port ${p.guestPort}) is already published`,
              {
                hint: `publish another host port (HOST:${p.guestPort}), or 0:${p.guestPort} for any free one`,
              },
            );
          throw err;
        }
      }
    })();
  }

  /** The removed row, or undefined when that guest port was not published. */
  remove(vmId: string, guestPort: number): PublishedPort | undefined {
    const row = this.db
      .prepare<[string, number], Row>(
        'DELETE FROM published_ports WHERE vm_id = ? AND guest_port = ? RETURNING *',
      )
      .get(vmId, guestPort);
    return row ? { guestPort: row.guest_port, hostPort: row.host_port } : undefined;
  }
}
