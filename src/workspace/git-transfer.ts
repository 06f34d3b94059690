import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { lstat, rename, rm, stat } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { BangerError, ErrorCode, SubprocessError } from '../errors.js';
import { diskFullError, isDiskFull } from '../system/disk-full.js';
import type { Runner } from '../system/runner.js';
import {
  awaitHeader,
  awaitTrailer,
  connectDataPort,
  FIND_PORT,
  guestStepFailed,
  noDataPort,
  writeTo,
} from '../transfer/data-port.js';
import { batchSshArgs, type SshTarget } from '../ssh/options.js';

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

// The guest side of an import, in three parts: start clean beside /root/repo, extract the
// tar stream there, then check out the branch if asked, record the base commit, refresh the
// index's stat data (it came from the host) and swap it in. `$1` is the new branch (or
// empty), `$2` where it starts.
//
// The index is the host's, so its inode numbers, owners, ctimes and sub-second mtimes are
// the host's too: with git's default stat check every file would be read and hashed again
// (4.8 s for 200 MiB under emulation). tar keeps each file's size and whole-second mtime,
// so the copy checks only those (core.checkStat=minimal, core.trustCtime=false: the quick
// check rsync makes; git's racy-entry guard still re-reads files as new as the index).
const IMPORT_START = `set -eu
tmp=/root/.banger/repo-import
rm -rf "$tmp"
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT`;

const IMPORT_FINISH = `cd "$tmp"
if [ -n "$1" ]; then git checkout -q -b "$1" "\${2:-HEAD}"; fi
git rev-parse --verify HEAD > .git/banger-base
git config core.checkStat minimal
git config core.trustCtime false
git update-index -q --refresh > /dev/null || true
cd /
rm -rf ${GUEST_REPO}
mv "$tmp" ${GUEST_REPO}
cat ${GUEST_REPO}/.git/banger-base`;

/** The import with the tar stream on stdin: it rides the ssh connection. */
export const IMPORT_SCRIPT = [
  IMPORT_START,
  'tar -x --no-same-owner -C "$tmp" -f -',
  IMPORT_FINISH,
].join('\n');

/**
 * The import with the tar stream on the VM's data port (src/transfer/data-port.ts: the
 * framing). GNU tar pads the archive to whole records and stops reading at its end, then
 * the trailer follows. `$3` is the token.
 */
export const PORT_IMPORT_SCRIPT = [
  IMPORT_START,
  FIND_PORT,
  `(
  ${awaitHeader('$3')}
  tar -x -B --no-same-owner -C "$tmp" -f -
  ${awaitTrailer('$3')}
) < "$port"`,
  IMPORT_FINISH,
].join('\n');

/**
 * Everything in the guest repo past the recorded base, through a throwaway index so the
 * real index, worktree and refs stay exactly as they were: new commits, uncommitted edits
 * and untracked files minus .gitignore (files committed or staged in spite of it count).
 * `$1` is "patch" or "names".
 */
export const EXPORT_SCRIPT = `set -eu
cd ${GUEST_REPO} 2>/dev/null || { echo "no workspace in ${GUEST_REPO}" >&2; exit 3; }
base=$(cat .git/banger-base 2>/dev/null) || { echo "no recorded base in ${GUEST_REPO}" >&2; exit 3; }
# git renames the new index into place: it must sit on the index's file system.
idx=$(mktemp .git/banger-export-index.XXXXXX)
trap 'rm -f "$idx" "$idx.lock"' EXIT
# A copy of the real index knows every file's stat data, so git re-reads only what changed;
# entries marked assume-unchanged or skip-worktree would hide edits: then HEAD's tree.
if [ -f .git/index ] && ! git ls-files -v | grep -q '^[a-zS]'; then
  cp .git/index "$idx"
else
  git read-tree --index-output="$idx" HEAD
fi
GIT_INDEX_FILE="$idx" git add -A
if [ "$1" = names ]; then
  GIT_INDEX_FILE="$idx" git -c core.quotepath=off diff --cached --no-color --no-ext-diff --name-only "$base"
else
  GIT_INDEX_FILE="$idx" git diff --cached --no-color --no-ext-diff --binary "$base"
fi`;

export interface ImportOptions {
  repo: HostRepo;
  target: SshTarget;
  /** The VM's data port (VmHandles.dataSocket); without one the copy rides ssh. */
  dataSocket?: string | undefined;
  branch?: string | undefined;
  from?: string | undefined;
  runner: Runner;
  signal: AbortSignal;
}

/**
 * Streams the repo into the guest and returns the base commit recorded. The tar stream
 * goes over the VM's data port when it has one (a guest without the port's driver says so,
 * and the copy falls back), else over ssh; either way the guest side runs over ssh.
 */
export async function importRepo(
  opts: ImportOptions,
): Promise<{ base: string; files: number; via: 'data port' | 'ssh' }> {
  const names = ['.git', ...(await worktreeFiles(opts.repo.root, opts.runner))];
  const files = names.length - 1;
  const port = opts.dataSocket ? await connectDataPort(opts.dataSocket) : undefined;
  if (port) {
    const base = await importOverPort(opts, names, port);
    if (base !== undefined) return { base, files, via: 'data port' };
  }
  return { base: await importOverSsh(opts, names), files, via: 'ssh' };
}

/** tar of `names` (relative to root) on stdout; names go in on stdin, NUL-separated. */
function tarOf(root: string, names: readonly string[], runner: Runner, signal: AbortSignal) {
  const tar = runner.stream('tar', ['-c', '-f', '-', '-C', root, '--null', '-T', '-'], {
    signal,
  });
  tar.stdin.end(names.map((n) => `${n}\0`).join(''));
  return tar;
}

function importSsh(opts: ImportOptions, script: string, extra: string[], signal: AbortSignal) {
  const argv = ['sh', '-c', script, 'banger-import', opts.branch ?? '', opts.from ?? '', ...extra];
  const ssh = opts.runner.stream('ssh', batchSshArgs(opts.target, argv), { signal });
  const chunks: Buffer[] = [];
  ssh.stdout.on('data', (c: Buffer) => chunks.push(c));
  return { ssh, output: () => Buffer.concat(chunks).toString('utf8') };
}

async function importOverSsh(opts: ImportOptions, names: readonly string[]): Promise<string> {
  const tar = tarOf(opts.repo.root, names, opts.runner, opts.signal);
  const { ssh, output } = importSsh(opts, IMPORT_SCRIPT, [], opts.signal);
  // When ssh dies (the VM stopped) the pipe breaks too: report the program, not the EPIPE.
  const results = await Promise.allSettled([ssh.done, tar.done, pipeline(tar.stdout, ssh.stdin)]);
  throwFirstFailure(results);
  return recordedBase(output());
}

/**
 * The archive over the data port, framed (see PORT_IMPORT_SCRIPT). Any side failing stops
 * the others: the socket closes (the guest reads end-of-file), tar and ssh are killed.
 * Undefined when the guest has no data port.
 */
async function importOverPort(
  opts: ImportOptions,
  names: readonly string[],
  port: Socket,
): Promise<string | undefined> {
  const token = randomBytes(16).toString('hex');
  const local = new AbortController();
  const signal = AbortSignal.any([opts.signal, local.signal]);
  // The failure that stopped the others is the one to report (not their "was cancelled").
  let cause: { err: unknown } | undefined;
  const stopAll = (err: unknown) => {
    if (!local.signal.aborted) cause = { err };
    local.abort();
    port.destroy();
    throw err;
  };
  const { ssh, output } = importSsh(opts, PORT_IMPORT_SCRIPT, [token], signal);
  ssh.stdin.end();
  const tar = tarOf(opts.repo.root, names, opts.runner, signal);
  const tarDone = tar.done.catch(stopAll);
  const sshDone = ssh.done.catch(stopAll);
  // A write failing means the VM's end went away: ssh fails on its own and says why.
  const sent = (async () => {
    await writeTo(port, Buffer.from(`banger-data:${token}`));
    for await (const chunk of tar.stdout as AsyncIterable<Buffer>) await writeTo(port, chunk);
    await tarDone; // the archive is whole: only then the trailer
    await writeTo(port, Buffer.from(`banger-done:${token}`));
  })();
  const results = await Promise.allSettled([sshDone, tarDone, sent]);
  port.destroy();
  if (noDataPort(results[0])) return undefined;
  if (cause) throw guestStepFailed(IMPORT_STEP, cause.err);
  throwFirstFailure(results);
  return recordedBase(output());
}

/** ssh's failure first (it carries the guest's words), then tar's, then the pipe's. */
function throwFirstFailure(results: PromiseSettledResult<unknown>[]): void {
  const failure = results.find((r) => r.status === 'rejected');
  if (failure) throw guestStepFailed(IMPORT_STEP, failure.reason);
}

const IMPORT_STEP = 'copying the repository into the guest';

function recordedBase(output: string): string {
  const base = output.trim().split('\n').pop() ?? '';
  if (!/^[0-9a-f]{40,64}$/.test(base))
    throw new BangerError(
      ErrorCode.Subprocess,
      `the guest recorded no base commit (got ${JSON.stringify(base)})`,
    );
  return base;
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
    batchSshArgs(opts.target, [
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
    const failures = [sshDone, written].flatMap((r) => (r.status === 'rejected' ? [r] : []));
    // The file failing to take the patch (a full disk) breaks ssh's stdout too: say the file.
    const failure = failures.find((r) => isDiskFull(r.reason)) ?? failures[0];
    if (failure) throw failure.reason;
  } catch (err) {
    await rm(staged, { force: true });
    const full = await diskFullError(err, [
      { what: opts.out, dir: dirname(opts.out), hint: 'free space there, or export elsewhere' },
    ]);
    if (full) throw full;
    if (err instanceof SubprocessError && err.exitCode === 3)
      throw new BangerError(ErrorCode.Conflict, err.stderrTail, {
        hint: 'copy a repository in first: banger vm workspace prepare VM PATH',
      });
    throw guestStepFailed('exporting the workspace', err);
  }
  await rename(staged, opts.out);
  return { bytes: (await stat(opts.out)).size };
}
