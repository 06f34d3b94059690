import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';

export interface Scratch {
  /** The test file's temp dir, made before its tests and removed after them. */
  readonly dir: string;
  /** A new empty `<dir>/tN/root`, alone in its parent. */
  freshRoot(): Promise<string>;
}

/** Call at the top of a test file: a temp dir for its tests (`setup` fills it), fresh roots inside. */
export function scratch(prefix: string, setup?: (dir: string) => Promise<void>): Scratch {
  let dir = '';
  let count = 0;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), prefix));
    await setup?.(dir);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  return {
    get dir() {
      return dir;
    },
    async freshRoot() {
      const root = join(dir, `t${++count}`, 'root');
      await mkdir(root, { recursive: true });
      return root;
    },
  };
}
