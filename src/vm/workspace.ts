import { createWriteStream } from 'node:fs';
import { lstat, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { BangerError, ErrorCode, SubprocessError } from '../errors.js';
import type { Runner } from '../system/runner.js';
import { remoteCommand, sshDestination, sshOptions, type SshTarget } from './ssh.js';

// Workspaces: a host repository copied into the guest at /root/repo (history, HEAD, the
// host's uncommitted edits and untracked-but-not-ignored files), and everything past the
// recorded base exported back as one patch. Both stream over the VM's ssh connection.

export const GUEST_REPO = '/root/repo';

export interface HostRepo {
  root: string;
  head: string;
}

/** The git repository PATH is in, with a commit to start from; a clear error otherwise. */
export async function inspectRepo(path: string, runner: Runner): Promise<HostRepo> {
  const info = await stat(path).catch(() => undefined);
  if (!info?.isDirectory())
    throw new BangerError(ErrorCode.InvalidParams, `${path} is not a directory`, {
      hint: 'give the path of a git checkout, e.g. banger vm run . -- make test',
    });
  const git = (args: string[]) => runner.run('git', ['-C', path, ...args], { allowFailure: true });
  const top = await git(['rev-parse', '--show-toplevel']);
  if (top.exitCode !== 0)
    throw new BangerError(ErrorCode.InvalidParams, `${path} is not inside a git repository`, {
      hint: `run "git init" there (and commit), or give the path of a git checkout`,
    });
  const root = top.stdout.trim();
  const head = await git(['rev-parse', '--verify', '-q', 'HEAD^{commit}']);
  if (head.exitCode !== 0)
    throw new BangerError(ErrorCode.InvalidParams, `the repository at ${root} has no commit yet`, {
      hint: 'commit once ("git commit --allow-empty -m init"), then try again',
    });
  const gitDir = (await git(['rev-parse', '--absolute-git-dir'])).stdout.trim();
  if (gitDir !== join(root, '.git') || !(await lstat(gitDir)).isDirectory())
    throw new BangerError(
      ErrorCode.InvalidParams,
      `${root} keeps its git directory elsewhere (${gitDir}): linked worktrees and submodules cannot be copied yet`,
      { hint: 'give the path of the main checkout' },
    );
  return { root, head: head.stdout.trim() };
}

/**
 * What goes into the guest: the whole .git (history, refs, stashes) plus every file of the
 * worktree git does not ignore — tracked ones as they are on disk now (uncommitted edits
 * included, deleted ones left out) and untracked ones.
 */
export async function worktreeFiles(root: string, runner: Runner): Promise<string[]> {
  const listed = await runner.run('git', [
    ...['-C', root, 'ls-files', '-z', '--cached', '--others', '--exclude-standard'],
  ]);
  const names = [...new Set(listed.stdout.split('\0').filter((n) => n !== ''))];
  const present: string[] = [];
  for (const name of names)
    if (
      await lstat(join(root, name)).then(
        () => true,
        () => false,
      )
    )
      present.push(name);
  return present;
}

/**
 * Runs in the guest with the tar stream on stdin: extract beside /root/repo, check out the
 * branch if asked, record the base commit, refresh the index's stat data (it came from the
 * host), then swap it in. `$1` is the new branch (or empty), `$2` where it starts.
 */
export const IMPORT_SCRIPT = `set -eu
tmp=/root/.banger/repo-import
rm -rf "$tmp"
mkdir -p "$tmp"
tar -x --no-same-owner -C "$tmp" -f -
cd "$tmp"
if [ -n "$1" ]; then git checkout -q -b "$1" "\${2:-HEAD}"; fi
git rev-parse --verify HEAD > .git/banger-base
git update-index -q --refresh > /dev/null || true
cd /
rm -rf ${GUEST_REPO}
mv "$tmp" ${GUEST_REPO}
cat ${GUEST_REPO}/.git/banger-base`;

/**
 * Everything in the guest repo past the recorded base, through a throwaway index so the
 * real index, worktree and refs stay exactly as they were: new commits, uncommitted edits
 * and untracked files minus .gitignore. `$1` is "patch" or "names".
 */
export const EXPORT_SCRIPT = `set -eu
cd ${GUEST_REPO} 2>/dev/null || { echo "no workspace in ${GUEST_REPO}" >&2; exit 3; }
base=$(cat .git/banger-base 2>/dev/null) || { echo "no recorded base in ${GUEST_REPO}" >&2; exit 3; }
# git renames the new index into place: it must sit on the index's file system.
idx=$(mktemp .git/banger-export-index.XXXXXX)
trap 'rm -f "$idx" "$idx.lock"' EXIT
git read-tree --index-output="$idx" "$base"
GIT_INDEX_FILE="$idx" git add -A
if [ "$1" = names ]; then
  GIT_INDEX_FILE="$idx" git -c core.quotepath=off diff --cached --no-color --no-ext-diff --name-only "$base"
else
  GIT_INDEX_FILE="$idx" git diff --cached --no-color --no-ext-diff --binary "$base"
fi`;

function sshArgs(target: SshTarget, argv: readonly string[]): string[] {
  return [
    ...sshOptions(target),
    '-T',
    '-o',
    'BatchMode=yes',
    sshDestination(target),
    remoteCommand(argv),
  ];
}

/** Streams the repo into the guest (tar | ssh tar -x); returns the base commit recorded. */
export async function importRepo(opts: {
  repo: HostRepo;
  target: SshTarget;
  branch?: string | undefined;
  from?: string | undefined;
  runner: Runner;
  signal: AbortSignal;
}): Promise<{ base: string; files: number }> {
  const { repo, runner, signal } = opts;
  const files = await worktreeFiles(repo.root, runner);
  // Names on tar's stdin, NUL-separated: no argument-length limit, any byte in a name.
  const tar = runner.stream('tar', ['-c', '-f', '-', '-C', repo.root, '--null', '-T', '-'], {
    signal,
  });
  tar.stdin.end(['.git', ...files].map((n) => `${n}\0`).join(''));
  const ssh = runner.stream(
    'ssh',
    sshArgs(opts.target, [
      'sh',
      '-c',
      IMPORT_SCRIPT,
      'banger-import',
      opts.branch ?? '',
      opts.from ?? '',
    ]),
    { signal },
  );
  const chunks: Buffer[] = [];
  ssh.stdout.on('data', (c: Buffer) => chunks.push(c));
  // When ssh dies (the VM stopped) the pipe breaks too: report the program, not the EPIPE.
  const [piped, tarDone, sshDone] = await Promise.allSettled([
    pipeline(tar.stdout, ssh.stdin),
    tar.done,
    ssh.done,
  ]);
  const failure = [sshDone, tarDone, piped].find((r) => r.status === 'rejected');
  if (failure) throw guestStepFailed('copying the repository into the guest', failure.reason);
  const base = Buffer.concat(chunks).toString('utf8').trim().split('\n').pop() ?? '';
  if (!/^[0-9a-f]{40,64}$/.test(base))
    throw new BangerError(
      ErrorCode.Subprocess,
      `the guest recorded no base commit (got ${JSON.stringify(base)})`,
    );
  return { base, files: files.length };
}

/**
 * Writes the export (a patch, or the changed names) to `out`, staged beside it and renamed
 * when complete: a failed export leaves no half-written file.
 */
export async function exportRepo(opts: {
  target: SshTarget;
  out: string;
  nameOnly: boolean;
  runner: Runner;
  signal: AbortSignal;
}): Promise<{ bytes: number }> {
  const staged = `${opts.out}.banger-partial`;
  const ssh = opts.runner.stream(
    'ssh',
    sshArgs(opts.target, [
      'sh',
      '-c',
      EXPORT_SCRIPT,
      'banger-export',
      opts.nameOnly ? 'names' : 'patch',
    ]),
    { signal: opts.signal },
  );
  ssh.stdin.end();
  try {
    const [sshDone, written] = await Promise.allSettled([
      ssh.done,
      pipeline(ssh.stdout, createWriteStream(staged, { mode: 0o644 })),
    ]);
    const failure = [sshDone, written].find((r) => r.status === 'rejected');
    if (failure) throw failure.reason;
  } catch (err) {
    await rm(staged, { force: true });
    if (err instanceof SubprocessError && err.exitCode === 3)
      throw new BangerError(ErrorCode.Conflict, err.stderrTail, {
        hint: 'copy a repository in first: banger vm workspace prepare VM PATH',
      });
    throw guestStepFailed('exporting the workspace', err);
  }
  await rename(staged, opts.out);
  return { bytes: (await stat(opts.out)).size };
}

/** A failed ssh/tar step, said in a line: the step and what the guest's stderr said. */
function guestStepFailed(step: string, err: unknown): unknown {
  if (!(err instanceof SubprocessError)) return err;
  return new BangerError(
    ErrorCode.Subprocess,
    `${step} failed: ${err.stderrTail || `exit ${err.exitCode}`}`,
    {
      cause: err,
    },
  );
}
