import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { BangerError, ErrorCode } from '../errors.js';
import { writeFileAtomic } from '../system/atomic-write.js';
import { KeyedMutex } from '../system/mutex.js';
import { ensurePrivateDir } from '../system/private-dir.js';

// banger makes every VM's ssh host key itself (vm/disks.ts), so it can pin it: its own
// known_hosts holds one line per VM, `<name>.vm <type> <key>`, and every ssh banger runs or
// configures checks it strictly (HostKeyAlias for its own connections to 127.0.0.1:PORT,
// the host name itself for `ssh NAME.vm` through the ProxyCommand).

export const VM_HOST_SUFFIX = '.vm';

/** The name a VM's host key is filed under: stable while the VM exists, whatever its port. */
export function hostKeyAlias(vmName: string): string {
  return `${vmName}${VM_HOST_SUFFIX}`;
}

// Only bangerd writes the file, and bangerd.lock allows one daemon per state dir: a lock in
// this process is the whole lock. Keyed by file, so two callers on one file take turns.
const locks = new KeyedMutex();

/** `type base64` of a public key (`ssh-ed25519 AAAA… comment` as ssh-keygen writes it). */
export function keyOf(publicKey: string): string {
  const [type, key] = publicKey.trim().split(/\s+/);
  if (
    !type ||
    !key ||
    !/^(ssh|ecdsa|sk)-[\w@.-]+$/.test(type) ||
    !/^[A-Za-z0-9+/]+={0,2}$/.test(key)
  )
    throw new BangerError(ErrorCode.InvalidParams, `not an ssh public key: ${publicKey.trim()}`);
  return `${type} ${key}`;
}

/** The file's text; empty when it does not exist yet. */
export async function readKnownHosts(file: string): Promise<string> {
  return readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return '';
    throw err;
  });
}

/** The key (`type base64`) pinned for `alias`, if any. */
export function pinnedKey(text: string, alias: string): string | undefined {
  const line = text.split('\n').find((l) => hostOf(l) === alias);
  return line?.trim().split(/\s+/).slice(1, 3).join(' ');
}

/** Pins `publicKey` for `alias`, replacing whatever that alias had; other lines are kept. */
export function pinHostKey(file: string, alias: string, publicKey: string): Promise<void> {
  const line = `${alias} ${keyOf(publicKey)}`;
  return edit(file, (lines) => [...lines.filter((l) => hostOf(l) !== alias), line]);
}

export function unpinHostKey(file: string, alias: string): Promise<void> {
  return edit(file, (lines) => lines.filter((l) => hostOf(l) !== alias));
}

/** Drops the lines of `*.vm` aliases not in `keep` (VMs that are gone); others stay. */
export function keepOnlyPins(file: string, keep: ReadonlySet<string>): Promise<void> {
  return edit(file, (lines) =>
    lines.filter((l) => {
      const host = hostOf(l);
      return host === undefined || !host.endsWith(VM_HOST_SUFFIX) || keep.has(host);
    }),
  );
}

/** Read, change, and write back atomically (temp + rename) under the file's lock. */
function edit(file: string, change: (lines: string[]) => string[]): Promise<void> {
  return locks.run(file, async () => {
    const text = await readKnownHosts(file);
    const lines = text.split('\n').filter((l, i, all) => l !== '' || i < all.length - 1);
    const next = change(lines);
    const out = next.length ? `${next.join('\n')}\n` : '';
    if (out === text) return;
    await ensurePrivateDir(dirname(file));
    await writeFileAtomic(file, out, 0o600);
  });
}

/** The host field of a plain known_hosts line (no marker, no hashing: we wrote it). */
function hostOf(line: string): string | undefined {
  const trimmed = line.trim();
  if (trimmed === '' || trimmed.startsWith('#') || trimmed.startsWith('@')) return undefined;
  return trimmed.split(/\s+/)[0];
}
