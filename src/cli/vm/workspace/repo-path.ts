import { execFile } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { UsageError } from '../../../errors.js';

/**
 * `vm run PATH` checks PATH before it boots anything: a directory inside a git repository
 * with a commit. (The daemon checks again, with the same words, when it copies.)
 */
export async function checkRepoPath(path: string): Promise<void> {
  const abs = resolve(path);
  if (
    !(await stat(abs).then(
      (s) => s.isDirectory(),
      () => false,
    ))
  )
    throw new UsageError(`${path} is not a directory`, {
      hint: 'give the path of a git checkout, e.g. banger vm run . -- make test',
    });
  const ok = await promisify(execFile)('git', [
    '-C',
    abs,
    'rev-parse',
    '--verify',
    '-q',
    'HEAD^{commit}',
  ]).then(
    () => true,
    () => false,
  );
  if (!ok)
    throw new UsageError(`${path} is not inside a git repository with a commit`, {
      hint: 'run "git init" and commit there, or give the path of a git checkout',
    });
}
