import { FileName } from '../config/layout.js';
import { randomBytes } from 'node:crypto';
import { chmod, lstat, mkdtemp, readdir, rename, rm, stat } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { basename, dirname, join } from 'node:path';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BangerError, ErrorCode, SubprocessError } from '../errors.js';
import { batchSshArgs, type SshTarget } from '../ssh/options.js';
import type { Runner, StreamingChild } from '../system/runner.js';
import {
  COPY_IN_PORT,
  COPY_IN_SSH,
  COPY_OUT_PORT,
  COPY_OUT_SSH,
  GUEST_PATH_EXIT,
} from './copy-scripts.js';
import { connectDataPort, FRAME_LENGTH, noDataPort, writeTo } from './data-port.js';

// `vm cp` between a host path and a guest path, in bangerd: one tar archive of one entry,
// streamed (never held in memory) over the VM's data port when it has one, else over ssh.
// Each side unpacks beside the destination and moves the entry into place when it is
// whole, so a failed or cancelled copy leaves nothing half-written. What the guest sends is
// unpacked by GNU tar into a fresh directory (no absolute names, no `..`, symlinks made
// last) and must be the one entry asked for, holding no device or fifo; setuid and setgid
// bits are dropped (its owners are not kept), and a merge replaces links, never follows them.

export interface CopyOptions {
  target: SshTarget;
  dataSocket?: string | undefined;
  runner: Runner;
  signal: AbortSignal;
}

export interface Copied {
  via: 'data port' | 'ssh';
}

/** Host `source` to guest `dest` (an existing directory receives it inside). */
export async function copyIn(source: string, dest: string, opts: CopyOptions): Promise<Copied> {
  const info = await lstat(source).catch(() => undefined);
  if (!info)
    throw new BangerError(ErrorCode.NotFound, `host: no such file or directory: ${source}`);
  const name = basename(source);
  // Each attempt's own signal: a part failing kills the others.
  const tarIn = (signal: AbortSignal) =>
    opts.runner.stream('tar', ['-c', '-f', '-', '-C', dirname(source), '--', name], { signal });
  const port = opts.dataSocket ? await connectDataPort(opts.dataSocket) : undefined;
  if (port) {
    const token = randomBytes(16).toString('hex');
    const done = await settleAll(opts.signal, port, (signal) => {
      const ssh = guestScript(opts, COPY_IN_PORT, [dest, name, token], signal);
      ssh.stdin.end();
      const tar = tarIn(signal);
      const sent = (async () => {
        await writeTo(port, Buffer.from(`banger-data:${token}`));
        for await (const chunk of tar.stdout as AsyncIterable<Buffer>) await writeTo(port, chunk);
        await tar.done;
        await writeTo(port, Buffer.from(`banger-done:${token}`));
      })();
      return [ssh.done, tar.done, sent];
    });
    if (done !== 'no port') return { via: 'data port' };
  }
  await settleAll(opts.signal, undefined, (signal) => {
    const ssh = guestScript(opts, COPY_IN_SSH, [dest, name], signal);
    const tar = tarIn(signal);
    return [ssh.done, tar.done, pipeline(tar.stdout, ssh.stdin)];
  });
  return { via: 'ssh' };
}

/** Guest `source` to host `dest` (an existing directory receives it inside). */
export async function copyOut(source: string, dest: string, opts: CopyOptions): Promise<Copied> {
  const name = basename(source);
  const into = await stat(dest).catch(() => undefined);
  const [dir, finalName] = into?.isDirectory() ? [dest, name] : [dirname(dest), basename(dest)];
  if (!(await stat(dir).catch(() => undefined))?.isDirectory())
    throw new BangerError(ErrorCode.NotFound, `host: no such directory: ${dir}`);
  const staging = await mkdtemp(join(dir, FileName.copyStagingPrefix));
  try {
    const untar = (signal: AbortSignal) => {
      const tar = opts.runner.stream(
        'tar',
        ['-x', '-p', '--no-same-owner', '-f', '-', '-C', staging],
        { signal },
      );
      return { ...tar, done: tar.done.catch((err: unknown) => unpackFailed(source, err)) };
    };
    let via: Copied['via'] = 'ssh';
    const port = opts.dataSocket ? await connectDataPort(opts.dataSocket) : undefined;
    const overPort =
      port &&
      (await settleAll(opts.signal, port, (signal) => {
        const token = randomBytes(16).toString('hex');
        const ssh = guestScript(opts, COPY_OUT_PORT, [source, token], signal);
        ssh.stdin.end();
        const tar = untar(signal);
        const received = (async () => {
          await writeTo(port, Buffer.from(`banger-data:${token}`));
          await unframe(port, token, tar.stdin);
        })();
        return [ssh.done, tar.done, received];
      }));
    if (overPort && overPort !== 'no port') via = 'data port';
    else
      await settleAll(opts.signal, undefined, (signal) => {
        const ssh = guestScript(opts, COPY_OUT_SSH, [source], signal);
        ssh.stdin.end();
        const tar = untar(signal);
        return [ssh.done, tar.done, pipeline(ssh.stdout, tar.stdin)];
      });
    await publish(staging, name, join(dir, finalName), source, opts.runner);
    return { via };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/**
 * The one entry unpacked in `staging` moved to `final` (a directory merges into one, each
 * file replacing what is there: a symlink an earlier copy left is not written through).
 */
async function publish(
  staging: string,
  name: string,
  final: string,
  source: string,
  runner: Runner,
) {
  const entries = await readdir(staging);
  if (entries.length !== 1 || entries[0] !== name)
    throw new BangerError(
      ErrorCode.Subprocess,
      `the guest sent ${JSON.stringify(entries)} instead of ${JSON.stringify(name)}`,
    );
  const staged = join(staging, name);
  await tame(staged, name, source);
  const there = await lstat(final).catch(() => undefined);
  if (there?.isDirectory()) {
    if (!(await lstat(staged)).isDirectory())
      throw new BangerError(ErrorCode.InvalidParams, `host: ${final} is a directory`);
    await runner.run('cp', ['-a', '--remove-destination', '--', `${staged}/.`, `${final}/`]);
  } else await rename(staged, final);
}

/**
 * Refuses a device, fifo or socket anywhere in what the guest sent (bangerd may be root:
 * a device node it made would open the host's disks to whoever reads the copy), and drops
 * setuid and setgid bits, which would now name bangerd's user rather than the guest's.
 */
async function tame(path: string, shown: string, source: string): Promise<void> {
  const st = await lstat(path);
  if (st.isDirectory()) {
    const children = await readdir(path);
    await Promise.all(children.map((c) => tame(join(path, c), `${shown}/${c}`, source)));
  } else if (st.isFile()) {
    if ((st.mode & 0o6000) !== 0) await chmod(path, st.mode & 0o1777);
  } else if (!st.isSymbolicLink()) {
    const kind = st.isFIFO()
      ? 'fifo'
      : st.isSocket()
        ? 'socket'
        : st.isBlockDevice()
          ? 'block device'
          : 'character device';
    throw new BangerError(
      ErrorCode.Subprocess,
      `the guest's copy of ${source} holds ${JSON.stringify(shown)}, a ${kind}: vm cp copies files, directories and symlinks only`,
    );
  }
}

/** The host's tar failing on what the guest sent, said by the line that names the member. */
function unpackFailed(source: string, err: unknown): never {
  if (!(err instanceof SubprocessError) || err.exitCode === undefined) throw err;
  const lines = err.stderrTail.split('\n').map((l) => l.replace(/^tar: /, '').trim());
  const said =
    lines.find(
      (l) => l !== '' && !/^Removing leading|^Exiting with failure|not recoverable/.test(l),
    ) ??
    lines.find((l) => l !== '') ??
    `exit ${err.exitCode}`;
  throw new BangerError(
    ErrorCode.Subprocess,
    `unpacking the guest's copy of ${source} failed: ${said}`,
    { cause: err },
  );
}

/**
 * The guest's framed archive from the port into `sink`: its header checked, its trailer
 * (after a whole number of tar blocks) taken as the end.
 */
export async function unframe(
  port: AsyncIterable<Buffer>,
  token: string,
  sink: Writable,
): Promise<void> {
  const header = Buffer.from(`banger-data:${token}`);
  const trailer = Buffer.from(`banger-done:${token}`);
  let head = Buffer.alloc(0);
  let held = Buffer.alloc(0);
  let forwarded = 0;
  const write = (b: Buffer) =>
    new Promise<void>((resolve, reject) => sink.write(b, (err) => (err ? reject(err) : resolve())));
  for await (const chunk of port) {
    let data = chunk;
    if (head.length < FRAME_LENGTH) {
      head = Buffer.concat([head, data]);
      if (head.length < FRAME_LENGTH) continue;
      if (!head.subarray(0, FRAME_LENGTH).equals(header))
        throw new BangerError(ErrorCode.Subprocess, 'the data port carried bytes of another copy');
      data = head.subarray(FRAME_LENGTH);
    }
    const all = Buffer.concat([held, data]);
    const body = all.length - FRAME_LENGTH;
    if (body >= 0 && (forwarded + body) % 512 === 0 && all.subarray(body).equals(trailer)) {
      await write(all.subarray(0, body));
      sink.end();
      return;
    }
    const keep = Math.min(FRAME_LENGTH, all.length);
    await write(all.subarray(0, all.length - keep));
    forwarded += all.length - keep;
    held = all.subarray(all.length - keep);
  }
  throw new BangerError(ErrorCode.Subprocess, 'the data port stream ended early');
}

function guestScript(
  opts: CopyOptions,
  script: string,
  args: string[],
  signal: AbortSignal,
): StreamingChild {
  return opts.runner.stream(
    'ssh',
    batchSshArgs(opts.target, ['sh', '-c', script, 'banger-cp', ...args]),
    { signal },
  );
}

/**
 * Runs the parts of one copy; the first to fail stops the others (the port closes, the
 * programs are killed) and is the one reported, the guest's own words first. 'no port'
 * when the guest said it has no data port (nothing was copied: the caller uses ssh).
 */
async function settleAll(
  outer: AbortSignal,
  port: Socket | undefined,
  start: (signal: AbortSignal) => Promise<unknown>[],
): Promise<'done' | 'no port'> {
  const local = new AbortController();
  const signal = AbortSignal.any([outer, local.signal]);
  let first: unknown;
  const parts = start(signal).map((p) =>
    p.catch((err: unknown) => {
      first ??= err;
      local.abort();
      port?.destroy();
      throw err;
    }),
  );
  const results = await Promise.allSettled(parts);
  port?.destroy();
  if (noDataPort(results[0]!)) return 'no port';
  const ssh = results[0]!;
  // The guest's own words come first; but a part killed because another failed (no exit
  // status: "was cancelled") has none, whichever settled first: the failure that killed it
  // is the one to tell.
  const killed = (err: unknown) => err instanceof SubprocessError && err.exitCode === undefined;
  if (ssh.status === 'rejected' && !killed(ssh.reason)) throw copyFailed(ssh.reason);
  const reasons = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
  const told = [first, ...reasons].find((err) => err !== undefined && !killed(err)) ?? first;
  if (told !== undefined) throw copyFailed(told);
  return 'done';
}

function copyFailed(err: unknown): unknown {
  if (!(err instanceof SubprocessError)) return err;
  const said = err.stderrTail.trim().split('\n').at(-1) ?? '';
  if (err.exitCode === GUEST_PATH_EXIT)
    return new BangerError(ErrorCode.NotFound, `guest: ${said}`, { cause: err });
  return new BangerError(
    ErrorCode.Subprocess,
    `the copy failed: ${said || `exit ${err.exitCode}`}`,
    {
      cause: err,
    },
  );
}
