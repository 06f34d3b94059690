import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The run's shared directory: scripts/run-tests.mjs names the run (BANGER_TEST_RUN) and
 * removes it when the run ends; a file run by hand gets one of its own per process.
 */
export function runDir(): string {
  const run = process.env.BANGER_TEST_RUN;
  return run ? join(tmpdir(), `banger-e2e-${run}`) : join(tmpdir(), `banger-adhoc-${process.pid}`);
}

/**
 * Something expensive made once per test run and shared by the files that need it: the
 * first caller builds it in `<runDir>/<name>/` (holding `lock`), the others poll for its
 * `done.json`; a failure is recorded so the waiters fail with it instead of timing out.
 */
export async function oncePerRun<T>(
  name: string,
  build: (dir: string) => Promise<T>,
  waitMs = 15 * 60_000,
): Promise<T> {
  const dir = join(runDir(), name);
  await mkdir(dir, { recursive: true });
  const done = join(dir, 'done.json');
  const failed = join(dir, 'failed');
  if (
    await mkdir(join(dir, 'lock')).then(
      () => true,
      () => false,
    )
  ) {
    try {
      const value = await build(dir);
      await writeFile(done, JSON.stringify(value));
      return value;
    } catch (err) {
      await writeFile(failed, String(err instanceof Error ? err.stack : err));
      throw err;
    }
  }
  for (const deadline = Date.now() + waitMs; Date.now() < deadline;) {
    const text = await readFile(done, 'utf8').catch(() => '');
    if (text) return JSON.parse(text) as T;
    const error = await readFile(failed, 'utf8').catch(() => '');
    if (error) throw new Error(`the shared ${name} build failed:\n${error}`);
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`timed out waiting for the shared ${name} build in ${dir}`);
}

/** For a file run by hand: its own run directory goes when it ends. */
export async function disposeAdhocRunDir(): Promise<void> {
  if (!process.env.BANGER_TEST_RUN) await rm(runDir(), { recursive: true, force: true });
}
