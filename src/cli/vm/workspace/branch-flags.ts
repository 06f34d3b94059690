import type { Command } from 'commander';
import { UsageError } from '../../../errors.js';

/** `--branch`/`--from`, shared by `vm run PATH` and `vm workspace prepare`. */
export interface BranchFlags {
  branch?: string;
  from?: string;
}

// Both end up as git arguments in the guest: refuse what git would read as an option, and
// for a new branch what git check-ref-format refuses; a --from revision may use ~ and ^.
const BAD_BRANCH = /[\s~^:?*[\\]|\.\.|@\{/;

function refValue(flag: '--branch' | '--from') {
  return (value: string): string => {
    const bad = flag === '--branch' ? BAD_BRANCH.test(value) : /\s/.test(value);
    if (value !== '' && !value.startsWith('-') && !bad) return value;
    throw new UsageError(
      `${flag}: ${JSON.stringify(value)} is not a valid git ${flag === '--branch' ? 'branch name' : 'revision'}`,
      {
        hint: `e.g. ${flag} ${flag === '--branch' ? 'fix-tests' : 'origin/main'}`,
      },
    );
  };
}

export function addBranchFlags(cmd: Command): Command {
  return cmd
    .option('--branch <name>', 'check out a new branch in the guest repo', refValue('--branch'))
    .option('--from <ref>', 'where --branch starts (default: the host HEAD)', refValue('--from'));
}

/** `--branch`/`--from` only mean something with a repository path, and `--from` only with `--branch`. */
export function checkBranchFlags(opts: BranchFlags, hasPath: boolean): void {
  if (!hasPath && (opts.branch !== undefined || opts.from !== undefined))
    throw new UsageError('--branch and --from need a repository PATH', {
      hint: 'e.g. banger vm run ./repo --branch fix-tests -- make test',
    });
  if (opts.from !== undefined && opts.branch === undefined)
    throw new UsageError('--from says where --branch starts; give --branch too', {
      hint: 'e.g. --branch fix-tests --from origin/main',
    });
}
