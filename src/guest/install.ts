import { chmod, lstat, mkdir, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { TreeMetadata } from '../disk/ext4.js';
import { packageRoot } from '../system/package-root.js';
import { GENERATORS_DIR, MASKED_UNITS, PAM_EDITS } from './boot-trims.js';

/** Where each guest asset goes in the image, and its mode. Owner is always root. */
export const GUEST_FILES: readonly { asset: string; path: string; mode: number }[] = [
  { asset: 'sshd-99-banger.conf', path: 'etc/ssh/sshd_config.d/99-banger.conf', mode: 0o644 },
  {
    asset: 'sshd-90-banger-hostkey.conf',
    path: 'etc/ssh/sshd_config.d/90-banger-hostkey.conf',
    mode: 0o644,
  },
  {
    asset: 'ssh-service-banger.conf',
    path: 'etc/systemd/system/ssh.service.d/banger.conf',
    mode: 0o644,
  },
  { asset: 'banger-network', path: 'usr/local/libexec/banger-network', mode: 0o755 },
  {
    asset: 'banger-network.service',
    path: 'etc/systemd/system/banger-network.service',
    mode: 0o644,
  },
  { asset: 'banger-first-boot', path: 'usr/local/libexec/banger-first-boot', mode: 0o755 },
  {
    asset: 'banger-first-boot.service',
    path: 'etc/systemd/system/banger-first-boot.service',
    mode: 0o644,
  },
  {
    asset: 'banger-workdisk.service',
    path: 'etc/systemd/system/banger-workdisk.service',
    mode: 0o644,
  },
  { asset: 'fstab', path: 'etc/fstab', mode: 0o644 },
  { asset: 'modprobe-banger.conf', path: 'etc/modprobe.d/banger.conf', mode: 0o644 },
];
const ENABLED = ['banger-network.service', 'banger-first-boot.service', 'banger-workdisk.service'];
export const FIRST_BOOT_MARKER = 'var/lib/banger/first-boot-pending';

export function assetPath(name: string): string {
  return join(packageRoot(), 'src', 'guest', 'assets', name);
}

/** Every path the installer creates or rewrites, so an unprivileged build can set root:root. */
export type Recorder = (
  path: string,
  mode: number,
  type: 'file' | 'dir' | 'symlink' | 'removed',
) => void;

/**
 * A Recorder that updates a tree's metadata: a rewritten file keeps its owner (etc/shadow is
 * root:shadow), a new path is root's. `written` collects the paths, when the caller needs them.
 */
export function metadataRecorder(metadata: TreeMetadata, written?: Set<string>): Recorder {
  return (path, mode, type) => {
    if (type === 'removed') {
      metadata.delete(path);
      written?.delete(path);
      return;
    }
    written?.add(path);
    const existing = metadata.get(path);
    metadata.set(path, {
      type: type === 'dir' ? 'directory' : type,
      uid: existing?.uid ?? 0,
      gid: existing?.gid ?? 0,
      mode,
      ...(type === 'symlink' && existing?.linkTarget ? { linkTarget: existing.linkTarget } : {}),
    });
  };
}

/**
 * Turns a freshly bootstrapped Debian tree into a banger guest: banger's units and sshd
 * drop-ins, masked boot units, per-VM identity left for first boot (no ssh host keys, an
 * empty machine-id), a locked root password, and no container markers.
 */
export async function installGuestAssets(tree: string, record: Recorder): Promise<void> {
  const ensureDir = async (rel: string) => {
    const parts = rel.split('/');
    for (let i = 1; i <= parts.length; i++) {
      const sub = parts.slice(0, i).join('/');
      const exists = await lstat(join(tree, sub)).then(
        () => true,
        () => false,
      );
      if (!exists) {
        await mkdir(join(tree, sub), { mode: 0o755 });
        record(sub, 0o755, 'dir');
      }
    }
  };
  const put = async (rel: string, data: string | Buffer, mode: number) => {
    await ensureDir(dirname(rel));
    await rm(join(tree, rel), { force: true });
    await writeFile(join(tree, rel), data, { mode });
    await chmod(join(tree, rel), mode);
    record(rel, mode, 'file');
  };
  const drop = async (rel: string) => {
    await rm(join(tree, rel), { force: true });
    record(rel, 0, 'removed');
  };
  const link = async (rel: string, target: string) => {
    await ensureDir(dirname(rel));
    await rm(join(tree, rel), { force: true });
    await symlink(target, join(tree, rel));
    record(rel, 0o777, 'symlink');
  };

  for (const f of GUEST_FILES) await put(f.path, await readFile(assetPath(f.asset)), f.mode);
  for (const unit of ENABLED)
    await link(`etc/systemd/system/sysinit.target.wants/${unit}`, `/etc/systemd/system/${unit}`);
  for (const unit of MASKED_UNITS) await link(`etc/systemd/system/${unit}`, '/dev/null');
  for (const generator of await readdir(join(tree, GENERATORS_DIR)).catch(() => []))
    await link(`etc/systemd/system-generators/${generator}`, '/dev/null');
  for (const edit of PAM_EDITS) {
    const text = await readFile(join(tree, edit.file), 'utf8').catch(() => undefined);
    if (text !== undefined)
      await put(
        edit.file,
        keepLines(text, (l) => !edit.drop.test(l)),
        0o644,
      );
  }
  await lockRootPassword(tree, put);

  // Identity is per VM: first boot makes the ssh host key, systemd the machine-id.
  for (const name of ['ssh_host_rsa_key', 'ssh_host_ecdsa_key', 'ssh_host_ed25519_key'])
    for (const suffix of ['', '.pub']) await drop(`etc/ssh/${name}${suffix}`);
  await put('etc/machine-id', '', 0o444);
  await drop('var/lib/dbus/machine-id');
  await put(FIRST_BOOT_MARKER, '', 0o644);
  await put('etc/hostname', 'banger\n', 0o644);
  // A container marker makes systemd think it runs in a container (device units never start).
  for (const marker of ['.dockerenv', 'run/.containerenv']) await drop(marker);
}

async function lockRootPassword(
  tree: string,
  put: (rel: string, data: string, mode: number) => Promise<void>,
) {
  const shadow = await readFile(join(tree, 'etc/shadow'), 'utf8').catch(() => undefined);
  if (shadow === undefined) return; // a minimal rootfs without shadow has no password to lock
  const locked = shadow.replace(/^root:[^:]*:/m, 'root:!*:');
  await put('etc/shadow', locked, 0o640);
}

function keepLines(text: string, keep: (line: string) => boolean): string {
  return text.split('\n').filter(keep).join('\n');
}
