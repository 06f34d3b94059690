import { execa } from 'execa';
import { randomBytes } from 'node:crypto';

/**
 * A network namespace a test makes and deletes: everything that touches taps, bridges or
 * nftables runs in one, so nothing reaches the host's own network.
 */
export interface Netns {
  name: string;
  /** Runs a program inside the namespace. */
  exec(
    file: string,
    args: readonly string[],
    options?: { timeoutMs?: number; env?: Record<string, string> },
  ): ReturnType<typeof execa>;
  dispose(): Promise<void>;
}

export async function makeNetns(prefix = 'bgt'): Promise<Netns> {
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  await execa('ip', ['netns', 'add', name]);
  await execa('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
  return {
    name,
    exec: (file, args, options = {}) =>
      execa('ip', ['netns', 'exec', name, file, ...args], {
        reject: false,
        timeout: options.timeoutMs ?? 30_000,
        ...(options.env ? { env: options.env, extendEnv: false } : {}),
      }),
    dispose: async () => {
      await execa('ip', ['netns', 'del', name], { reject: false });
    },
  };
}

/**
 * A second namespace playing "outside" for NAT tests: a veth pair links it to `inner`,
 * which gets a default route through it. Addresses from TEST-NET-1 (192.0.2.0/24, never
 * routed on the internet), alive only inside these two namespaces.
 */
export async function linkOutside(inner: Netns): Promise<Netns & { ip: string }> {
  const outside = await makeNetns('bgo');
  const [a, b] = [`vo-${outside.name.slice(-6)}`, `vi-${outside.name.slice(-6)}`];
  const ip = '192.0.2.1';
  await execa('ip', [
    'link',
    'add',
    a,
    'netns',
    outside.name,
    'type',
    'veth',
    'peer',
    'name',
    b,
    'netns',
    inner.name,
  ]);
  await execa('ip', ['-n', outside.name, 'addr', 'add', `${ip}/24`, 'dev', a]);
  await execa('ip', ['-n', outside.name, 'link', 'set', a, 'up']);
  await execa('ip', ['-n', inner.name, 'addr', 'add', '192.0.2.2/24', 'dev', b]);
  await execa('ip', ['-n', inner.name, 'link', 'set', b, 'up']);
  await execa('ip', ['-n', inner.name, 'route', 'add', 'default', 'via', ip]);
  return { ...outside, ip };
}
