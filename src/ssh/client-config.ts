import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { FileName, type Layout } from '../config/layout.js';
import { writeFileAtomic } from '../system/atomic-write.js';
import { packageRoot } from '../system/package-root.js';
import { ensurePrivateDir } from '../system/private-dir.js';
import { configPath } from './options.js';
import { ensureUserSshConfigBlock } from './user-config-block.js';

// `ssh NAME.vm` from the user's own ssh: banger's ssh_config (state dir), included from a
// marked block in ~/.ssh/config, sends every *.vm host through `banger internal ssh-proxy`,
// which asks the daemon where the VM's sshd is and pipes the connection there. The VM's
// host key is checked against banger's known_hosts, as banger's own connections do.

export interface ClientConfigPaths {
  keyFile: string;
  knownHostsFile: string;
  /** Absolute paths, so the ProxyCommand works without banger (or node) on PATH. */
  node: string;
  cli: string;
}

/** The paths of this installation: this node, this package's CLI entry, the layout's files. */
export function clientConfigPaths(layout: Layout): ClientConfigPaths {
  return {
    keyFile: join(layout.sshDir, FileName.sshKey),
    knownHostsFile: layout.knownHosts,
    node: process.execPath,
    cli: join(packageRoot(), 'bin', 'banger.js'),
  };
}

export function clientConfigText(p: ClientConfigPaths): string {
  return [
    '# Written by banger at every VM create and start (edits are lost); ~/.ssh/config',
    '# includes it from the block banger manages there. `ssh NAME.vm` reaches VM NAME.',
    'Host *.vm',
    '  User root',
    `  IdentityFile ${configPath(p.keyFile)}`,
    '  IdentitiesOnly yes',
    `  UserKnownHostsFile ${configPath(p.knownHostsFile)}`,
    '  GlobalKnownHostsFile /dev/null',
    '  StrictHostKeyChecking yes',
    '  UpdateHostKeys no',
    '  KexAlgorithms ^curve25519-sha256',
    `  ProxyCommand ${shellWord(p.node)} ${shellWord(p.cli)} internal ssh-proxy %h`,
    '',
  ].join('\n');
}

/** A word for the shell ssh runs the ProxyCommand with, `%` doubled for ssh's tokens. */
function shellWord(text: string): string {
  return `'${text.replaceAll("'", `'\\''`).replaceAll('%', '%%')}'`;
}

/**
 * Writes banger's ssh_config (when its text changed) and, unless the user opted out
 * (`ssh.manage_config = false`), the block in ~/.ssh/config that includes it.
 */
export async function installClientConfig(
  layout: Layout,
  options: { manageUserConfig: boolean; paths?: ClientConfigPaths },
): Promise<void> {
  const text = clientConfigText(options.paths ?? clientConfigPaths(layout));
  const current = await readFile(layout.sshClientConfig, 'utf8').catch(() => undefined);
  if (current !== text) {
    await ensurePrivateDir(dirname(layout.sshClientConfig));
    await writeFileAtomic(layout.sshClientConfig, text, 0o600);
  }
  if (options.manageUserConfig)
    await ensureUserSshConfigBlock(layout.userSshConfig, layout.sshClientConfig);
}
