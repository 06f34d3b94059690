import Database from 'better-sqlite3';
import { BangerError, ErrorCode } from '../errors.js';
import { migrations } from './migrations.js';

export type Db = Database.Database;

/**
 * Opens the store: WAL so readers never block the writer, a busy timeout so a second
 * connection waits instead of failing, and every pending migration in one transaction.
 */
export function openDatabase(path: string): Db {
  const db = new Database(path, { timeout: 5000 });
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    migrate(db);
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

export function schemaVersion(db: Db): number {
  return db.pragma('user_version', { simple: true }) as number;
}

export function migrate(db: Db, steps: readonly string[] = migrations): void {
  const apply = db.transaction(() => {
    const current = schemaVersion(db);
    if (current > steps.length)
      throw new BangerError(
        ErrorCode.Internal,
        `the store has schema version ${current}, newer than this banger knows (${steps.length})`,
        { hint: 'upgrade banger; it never downgrades a store' },
      );
    for (let version = current; version < steps.length; version++) {
      db.exec(steps[version]!);
    }
    // user_version cannot be bound as a parameter; the value is our own integer.
    db.pragma(`user_version = ${steps.length}`);
  });
  apply.immediate();
}
