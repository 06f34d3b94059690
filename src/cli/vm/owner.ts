import { readFileSync } from 'node:fs';
import { ownerPid } from '../../protocol/owner.js';

/**
 * Whether the owner a VM was made for (`mcp:<pid>:<session>`, a `banger mcp` process) has
 * ended without deleting it: its process is gone, a zombie, or another program now.
 */
export function ownerGone(owner: string): boolean {
  const pid = ownerPid(owner);
  if (pid === undefined) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (/^\d+ \(.*\) Z /.test(stat)) return true;
    return !readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes('mcp');
  } catch {
    return true;
  }
}
