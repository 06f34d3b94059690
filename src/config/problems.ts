import { intToIpv4, ipv4ToInt } from '../system/ipv4.js';
import { isValidName, nameProblem } from './names.js';

// What is wrong with one config value, as a sentence, or undefined when it is fine: the
// checks config/schema.ts attaches to its string fields.

const PROGRAM_NAME = /^[A-Za-z0-9._+-]+$/;
const BRIDGE_NAME = /^[A-Za-z0-9_.-]{1,15}$/;

export function imageNameProblem(name: string): string | undefined {
  return isValidName(name) ? undefined : nameProblem('image', name);
}

export function programProblem(path: string): string | undefined {
  if (path.startsWith('/') && !path.includes('\0')) return undefined;
  if (PROGRAM_NAME.test(path) && path !== '.' && path !== '..') return undefined;
  return `${JSON.stringify(path)} is neither an absolute path nor a program name on PATH`;
}

export function bridgeProblem(name: string): string | undefined {
  if (BRIDGE_NAME.test(name) && name !== '.' && name !== '..') return undefined;
  return `${JSON.stringify(name)} is not a valid interface name; use at most 15 of A-Z a-z 0-9 _ . -`;
}

export function cidrProblem(cidr: string): string | undefined {
  const q = JSON.stringify(cidr);
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  const octetText = match?.slice(1, 5) ?? [];
  if (!match || octetText.some((o) => Number(o) > 255 || (o.length > 1 && o.startsWith('0')))) {
    return `${q} is not an IPv4 CIDR like "172.30.0.0/24"`;
  }
  const prefix = Number(match[5]);
  if (prefix < 8 || prefix > 30) return `${q}: prefix /${prefix} is out of range; use /8 to /30`;
  const address = ipv4ToInt(octetText.join('.'));
  const network = address - (address % 2 ** (32 - prefix));
  if (network === address) return undefined;
  return `${q} has host bits set; did you mean "${intToIpv4(network)}/${prefix}"?`;
}

/** The [[file_sync]] rules: host is absolute or under ~/, guest lives on the /root work disk. */
export function syncPathProblem(side: 'host' | 'guest', path: string): string | undefined {
  const q = JSON.stringify(path);
  const use =
    side === 'host' ? 'use an absolute path or one under ~/' : 'use a path under ~/ or /root';
  if (path.includes('\0')) return `${q} contains a NUL byte`;
  if (/^~[^/]/.test(path)) return `${q}: ~user paths are not supported; ${use}`;
  if (path.split('/').includes('..')) return `${q} contains a ".." segment; ${use}`;
  const home = path === '~' || path.startsWith('~/');
  if (side === 'host') return home || path.startsWith('/') ? undefined : `${q} is relative; ${use}`;
  if (home || path === '/root' || path.startsWith('/root/')) return undefined;
  if (!path.startsWith('/')) return `${q} is relative; ${use}`;
  return `${q} is outside the guest home; ${use}`;
}
