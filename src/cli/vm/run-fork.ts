import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { constants } from 'node:os';
import { sshDestination, sshOptions } from '../../ssh/options.js';
import { withDaemon } from '../with-daemon.js';
import { remote, sshTargetFor } from './ssh-session.js';

/** One child's outcome: its exit code and the files its command changed in the workspace. */
export interface ForkOutcome {
  name: string;
  exitCode: number;
  changed: string[] | undefined;
}

/**
 * `vm run PATH --fork N -- cmd`: the parent (its workspace imported) forked N times, the
 * command run in every child at once with each line of its output prefixed by the child's
 * name, then a table of child → exit code → changed files. The children are kept (their
 * patches: `vm workspace export CHILD`) unless the caller deletes them.
 */
export async function runForked(
  parent: string,
  count: number,
  command: readonly string[],
  cwd: string | undefined,
): Promise<ForkOutcome[]> {
  const { callWithProgress } = await import('../with-daemon.js');
  const forked = await callWithProgress('vm.fork', { ref: parent, count }, 'vm run --fork');
  process.stderr.write(`${parent} paused ${forked.pausedMs} ms for the copy\n`);
  const names = forked.children.map((c) => c.name);
  const width = Math.max(...names.map((n) => n.length));
  const codes = await Promise.all(
    names.map(async (name) => {
      const target = await sshTargetFor(name);
      const args = [
        ...sshOptions(target),
        '-T',
        sshDestination(target),
        ...remote(command, cwd, target.run),
      ];
      return new Promise<number>((resolve, reject) => {
        const child = spawn('ssh', args, { stdio: ['ignore', 'pipe', 'pipe'] });
        const prefix = `[${name.padEnd(width)}] `;
        createInterface({ input: child.stdout }).on('line', (l) =>
          process.stdout.write(`${prefix}${l}\n`),
        );
        createInterface({ input: child.stderr }).on('line', (l) =>
          process.stderr.write(`${prefix}${l}\n`),
        );
        child.once('error', reject);
        child.once('exit', (status, signal) =>
          resolve(status ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0)),
        );
      });
    }),
  );
  const outcomes: ForkOutcome[] = [];
  for (const [i, name] of names.entries())
    outcomes.push({
      name,
      exitCode: codes[i]!,
      changed: cwd ? await changedFiles(name) : undefined,
    });
  process.stdout.write(table(outcomes, width));
  return outcomes;
}

/** The workspace files the child's command changed (what its patch would hold). */
async function changedFiles(name: string): Promise<string[] | undefined> {
  const dir = await mkdtemp(join(tmpdir(), 'banger-fork-'));
  try {
    const out = join(dir, 'names');
    await withDaemon((c) => c.call('vm.workspace.export', { ref: name, out, nameOnly: true }));
    return (await readFile(out, 'utf8')).split('\n').filter(Boolean);
  } catch {
    return undefined;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function table(outcomes: readonly ForkOutcome[], width: number): string {
  const w = Math.max(width, 'CHILD'.length);
  const lines = [`${'CHILD'.padEnd(w)}  EXIT  CHANGED`];
  for (const o of outcomes) {
    const changed =
      o.changed === undefined
        ? '-'
        : o.changed.length === 0
          ? 'no changes'
          : `${o.changed.length} file${o.changed.length === 1 ? '' : 's'}: ${o.changed.slice(0, 5).join(', ')}${o.changed.length > 5 ? ', …' : ''}`;
    lines.push(`${o.name.padEnd(w)}  ${String(o.exitCode).padEnd(4)}  ${changed}`);
  }
  return `${lines.join('\n')}\n`;
}
