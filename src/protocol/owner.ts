// Who a VM belongs to, when not its user: `mcp:<pid>:<session>`, a `banger mcp` session,
// which deletes it when it ends (and `vm prune` when that process is gone). Plain values: the
// CLI loads this without zod.

export const OWNER_PATTERN = /^mcp:(\d+):[\w-]{1,64}$/;

export function mcpOwner(pid: number, session: string): string {
  return `mcp:${pid}:${session}`;
}

/** The owning process, or undefined for a label of another kind. */
export function ownerPid(owner: string): number | undefined {
  const pid = OWNER_PATTERN.exec(owner)?.[1];
  return pid === undefined ? undefined : Number(pid);
}
