import Database from 'better-sqlite3';
import { BangerError, ErrorCode } from '../errors.js';

/**
 * Exactly one daemon per state dir. The lock is an exclusive SQLite transaction held open on
 * a small file: SQLite takes it with fcntl, so the kernel drops it when the holder dies,
 * even by kill -9, and a second daemon fails at once instead of waiting.
 */
export class DaemonLock {
  private constructor(private readonly db: Database.Database) {}

  static acquire(path: string): DaemonLock {
    const db = new Database(path, { timeout: 0 });
    try {
      db.pragma('locking_mode = EXCLUSIVE');
      db.exec('CREATE TABLE IF NOT EXISTS holder (pid INTEGER NOT NULL, since TEXT NOT NULL)');
      db.exec('BEGIN EXCLUSIVE');
      db.prepare('DELETE FROM holder').run();
      db.prepare('INSERT INTO holder (pid, since) VALUES (?, ?)').run(
        process.pid,
        new Date().toISOString(),
      );
      return new DaemonLock(db);
    } catch (err) {
      db.close();
      if (
        err instanceof Error &&
        'code' in err &&
        (err.code === 'SQLITE_BUSY' || err.code === 'SQLITE_LOCKED')
      )
        throw new BangerError(ErrorCode.DaemonRunning, `another bangerd holds ${path}`, {
          hint: 'run "banger daemon status" to see it, or "banger daemon stop" to stop it',
          cause: err,
        });
      throw err;
    }
  }

  release(): void {
    if (!this.db.open) return;
    this.db.close();
  }
}
