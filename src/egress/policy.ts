import { isIP } from 'node:net';
import { BangerError, ErrorCode, errorMessage } from '../errors.js';

// What a guest may reach outside: nothing (`none`, the default), everything (`all`, NAT),
// or HTTP(S) to a list of names through banger's filtering proxy. A name is exact
// (`pypi.org`) or a one-level wildcard (`*.npmjs.org`: `registry.npmjs.org`, not
// `npmjs.org`, not `a.b.npmjs.org`). Addresses are never listed: a guest that could name
// an address could reach anything behind it.

export type EgressPolicy =
  { kind: 'none' } | { kind: 'all' } | { kind: 'list'; names: readonly string[] };

export const EGRESS_NONE: EgressPolicy = { kind: 'none' };

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/**
 * `none`, `all` or `NAME[,NAME…]` as a policy; a bad entry is an error naming it and the
 * fix. Names are lowercased, a trailing dot dropped, duplicates removed, order kept.
 */
export function parseEgress(text: string, flag = '--egress'): EgressPolicy {
  const trimmed = text.trim().toLowerCase();
  if (trimmed === 'none' || trimmed === 'all') return { kind: trimmed };
  const names: string[] = [];
  for (const raw of trimmed.split(',')) {
    const entry = raw.trim().replace(/\.$/, '');
    const bad = (why: string) =>
      new BangerError(ErrorCode.InvalidParams, `${flag}: "${raw.trim()}" ${why}`, {
        hint: `give none, all, or names such as pypi.org,*.npmjs.org`,
      });
    if (!entry) throw bad('is empty');
    if (isIP(entry.replace(/^\[|\]$/g, '')))
      throw bad('is an address: egress lists names (use "all" to reach addresses)');
    if (entry === 'none' || entry === 'all') throw bad('cannot be combined with names');
    const wildcard = entry.startsWith('*.');
    const labels = (wildcard ? entry.slice(2) : entry).split('.');
    if (entry.length > 253 || !labels.every((l) => LABEL.test(l)))
      throw bad(
        entry.includes('*')
          ? 'is not a name (a wildcard is one leading "*." label)'
          : 'is not a DNS name',
      );
    if (wildcard && labels.length < 2) throw bad('is too wide (a wildcard needs a.b under it)');
    if (!names.includes(entry)) names.push(entry);
  }
  return { kind: 'list', names };
}

/** The policy as `parseEgress` reads it back. */
export function formatEgress(policy: EgressPolicy): string {
  return policy.kind === 'list' ? policy.names.join(',') : policy.kind;
}

/** Why a host is refused, or undefined when the policy lets the guest reach it. */
export function refusal(policy: EgressPolicy, host: string): string | undefined {
  if (policy.kind === 'all') return undefined;
  if (policy.kind === 'none') return 'egress is none';
  const name = host.toLowerCase().replace(/\.$/, '');
  if (isIP(name.replace(/^\[|\]$/g, ''))) return 'an address, not a name';
  const listed = policy.names.some((pattern) => {
    if (!pattern.startsWith('*.')) return name === pattern;
    const under = pattern.slice(1);
    const label = name.slice(0, -under.length);
    return name.endsWith(under) && label.length > 0 && !label.includes('.');
  });
  return listed ? undefined : 'not in the egress list';
}

/** What is wrong with a config value for egress (config/schema.ts), or undefined. */
export function egressProblem(value: string): string | undefined {
  try {
    parseEgress(value);
    return undefined;
  } catch (err) {
    return errorMessage(err).replace(/^--egress: /, '');
  }
}
