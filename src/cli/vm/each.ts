import { BangerError, ErrorCode, errorMessage } from '../../errors.js';
import type { DaemonClient } from '../../client/client.js';
import { withDaemon } from '../with-daemon.js';

/**
 * Runs one lifecycle verb over several VMs on one daemon connection, in order. A failure is
 * reported and the rest still run; the command then exits non-zero naming every VM that
 * failed, so `vm stop a b c` never stops at the first problem.
 */
export async function forEachVm(
  verb: string,
  names: readonly string[],
  fn: (client: DaemonClient, name: string) => Promise<string>,
): Promise<void> {
  const failed: string[] = [];
  // One VM: its own error is the whole story.
  if (names.length === 1) {
    const line = await withDaemon((client) => fn(client, names[0]!));
    process.stdout.write(`${line}\n`);
    return;
  }
  await withDaemon(async (client) => {
    for (const name of names) {
      try {
        process.stdout.write(`${await fn(client, name)}\n`);
      } catch (err) {
        failed.push(name);
        const hint = err instanceof BangerError && err.hint ? `\n  ${err.hint}` : '';
        process.stderr.write(`banger: ${errorMessage(err)}${hint}\n`);
      }
    }
  });
  if (failed.length > 0)
    throw new BangerError(
      ErrorCode.Conflict,
      `could not ${verb} ${failed.length} of ${names.length} VM${names.length === 1 ? '' : 's'}: ${failed.join(', ')}`,
    );
}
