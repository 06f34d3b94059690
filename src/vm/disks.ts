import { constants } from 'node:fs';
import { mkdtemp, open, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BangerError, ErrorCode } from '../errors.js';
import { DebugfsScript, debugfsCat, debugfsStat, runDebugfs } from '../disk/debugfs.js';
import type { Runner } from '../system/runner.js';
import { generateKey } from '../ssh/connection.js';

// A VM's two disks. The system disk is a qcow2 overlay whose backing file is the image's
// rootfs.ext4: creating it is instant and the image is never written. The work disk is the
// VM's own sparse ext4, mounted at /root in the guest; banger edits it from the host with
// debugfs (no mount, no root) to install its ssh key.

export const AUTHORIZED_KEYS = '/.ssh/authorized_keys';

export async function createOverlay(
  rootfs: string,
  overlay: string,
  runner: Runner,
  qemuImg = 'qemu-img',
): Promise<void> {
  await runner.run(qemuImg, ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', rootfs, overlay]);
}

/** A copy of a disk file that keeps its holes (and shares blocks where the file system can). */
export async function copyDisk(from: string, to: string, runner: Runner): Promise<void> {
  await runner.run('cp', ['--sparse=always', '--reflink=auto', from, to]);
}

/** A sparse file of `bytes`, formatted ext4 with its root directory owned by root. */
export async function createWorkDisk(path: string, bytes: number, runner: Runner): Promise<void> {
  await sizeFile(path, bytes, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL);
  await runner.run('mkfs.ext4', ['-q', '-F', '-L', 'banger-work', '-E', 'root_owner=0:0', path]);
}

/**
 * Makes sure banger's public key is in /root/.ssh/authorized_keys (keeping any other keys the
 * user added) and that the modes sshd's StrictModes checks are right: /root 0755 root:root,
 * .ssh 0700, the key file 0600 (the reference's normaliseHomeDirPerms). Run at create and at
 * every start, so a work disk whose perms drifted in the guest still lets banger in.
 */
export async function ensureAuthorizedKey(
  disk: string,
  publicKey: string,
  runner: Runner,
): Promise<void> {
  await replayJournal(disk, runner);
  const existing = await debugfsCat(disk, AUTHORIZED_KEYS, runner).then(
    (b) => b.toString('utf8'),
    (err: unknown) => {
      if (err instanceof BangerError && err.code === ErrorCode.NotFound) return undefined;
      throw err;
    },
  );
  const key = publicKey.trim();
  const script = new DebugfsScript();
  // Never mkdir a name that exists: debugfs would leak an inode (see DebugfsScript.mkdir).
  if (!(await debugfsStat(disk, '/.ssh', runner))) script.mkdir('/.ssh');
  if (existing === undefined || !existing.split('\n').some((l) => l.trim() === key)) {
    const content = existing ? `${existing.replace(/\n*$/, '\n')}${key}\n` : `${key}\n`;
    const scratch = await mkdtemp(join(tmpdir(), 'banger-key-'));
    try {
      const file = join(scratch, 'authorized_keys');
      await writeFile(file, content, { mode: 0o600 });
      if (existing !== undefined) script.rm(AUTHORIZED_KEYS);
      script.write(file, AUTHORIZED_KEYS);
      normalisePerms(script);
      await runDebugfs(disk, script, runner);
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
    return;
  }
  await runDebugfs(disk, normalisePerms(script), runner);
}

function normalisePerms(script: DebugfsScript): DebugfsScript {
  return script
    .setOwner('/', 0, 0)
    .setMode('/', 0o040755)
    .setOwner('/.ssh', 0, 0)
    .setMode('/.ssh', 0o040700)
    .setOwner(AUTHORIZED_KEYS, 0, 0)
    .setMode(AUTHORIZED_KEYS, 0o100600);
}

/**
 * A work disk whose VM was killed has a journal the guest never replayed. debugfs ignores the
 * journal, so its edits would be overwritten by the replay at the next mount (we saw exactly
 * that: a directory cut loose from /root). e2fsck in preen mode replays it first, and on a
 * clean filesystem returns at once.
 */
export async function replayJournal(disk: string, runner: Runner): Promise<void> {
  const r = await runner.run('e2fsck', ['-p', disk], { allowFailure: true });
  // 0 clean, 1 fixed, 2 fixed (reboot advised): fine for a disk nobody has mounted.
  if (r.exitCode >= 4)
    throw new BangerError(
      ErrorCode.Subprocess,
      `the work disk ${disk} has errors e2fsck could not fix on its own: ${(r.stdout + r.stderr).trim().split('\n').slice(-3).join('; ')}`,
      { hint: `repair it with "e2fsck -f ${disk}" (the VM must be stopped)` },
    );
}

/** Where the guest's sshd (sshd-90-banger-hostkey.conf) finds the host key banger made. */
export const PROVIDED_HOST_KEY = '/.banger/ssh_host_ed25519_key';

/**
 * Makes the VM's ssh host key on the host (ssh-keygen: milliseconds here, a second under
 * emulation in the guest) and puts it on a fresh work disk, where the golden image's sshd
 * looks first. One key per VM, never shared; it lives as long as the work disk.
 */
export async function seedHostKey(disk: string, vmName: string, runner: Runner): Promise<void> {
  const scratch = await mkdtemp(join(tmpdir(), 'banger-hostkey-'));
  try {
    const key = join(scratch, 'ssh_host_ed25519_key');
    await generateKey(key, `banger-vm ${vmName}`, runner);
    const script = new DebugfsScript()
      .mkdir('/.banger')
      .setOwner('/.banger', 0, 0)
      .setMode('/.banger', 0o040700)
      .write(key, PROVIDED_HOST_KEY)
      .setOwner(PROVIDED_HOST_KEY, 0, 0)
      .setMode(PROVIDED_HOST_KEY, 0o100600)
      .write(`${key}.pub`, `${PROVIDED_HOST_KEY}.pub`)
      .setOwner(`${PROVIDED_HOST_KEY}.pub`, 0, 0)
      .setMode(`${PROVIDED_HOST_KEY}.pub`, 0o100644);
    await runDebugfs(disk, script, runner);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** Grows the work disk file and its filesystem (offline: the VM is stopped). Never shrinks. */
export async function growWorkDisk(path: string, bytes: number, runner: Runner): Promise<void> {
  const current = (await stat(path)).size;
  if (bytes < current)
    throw new BangerError(
      ErrorCode.InvalidParams,
      `the work disk only grows: it is ${current} bytes, asked for ${bytes}`,
    );
  if (bytes === current) return;
  // resize2fs insists on a freshly checked filesystem.
  const fsck = await runner.run('e2fsck', ['-f', '-p', path], { allowFailure: true });
  if (fsck.exitCode >= 4)
    throw new BangerError(
      ErrorCode.Subprocess,
      `e2fsck found errors it could not fix on ${path}: ${(fsck.stdout + fsck.stderr).trim().split('\n').slice(-3).join('; ')}`,
      { hint: `repair it with "e2fsck -f ${path}" before resizing` },
    );
  await sizeFile(path, bytes, constants.O_WRONLY);
  await runner.run('resize2fs', [path]);
}

async function sizeFile(path: string, bytes: number, flags: number): Promise<void> {
  const file = await open(path, flags, 0o600);
  try {
    await file.truncate(bytes);
  } finally {
    await file.close();
  }
}

/** Bytes a (sparse) file really occupies on the host. */
export async function allocatedBytes(path: string): Promise<number> {
  const s = await stat(path).catch(() => undefined);
  return s ? s.blocks * 512 : 0;
}
