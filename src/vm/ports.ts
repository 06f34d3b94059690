import { BangerError, ErrorCode, errorMessage } from '../errors.js';
import { canListen, freeHostPort } from '../net/forward/host-port.js';
import type { Forwarder } from '../net/forward/port-forwards.js';
import type { GuestPort, PublishRequest } from '../protocol/vm.js';
import { sshRun } from '../ssh/connection.js';
import type { PublishedPort } from '../store/published-ports.js';
import type { VmRecord } from '../store/vms.js';
import type { HostForward, VmHandles } from '../vmm/vmm.js';
import type { Connection } from './connect.js';
import type { VmContext } from './context.js';
import {
  isLoopback,
  isWildcard,
  LISTENERS_SCRIPT,
  parseListeners,
  type GuestListener,
} from './listening-ports.js';
import { liveHandles } from './lookup.js';

// Published ports: 127.0.0.1:HOST on the host → GUEST in the VM, TCP. The store keeps what
// was asked for; the forwarding mechanics (src/net/forward/) open it whenever the VM runs.

/** banger's own sshd in every guest. */
const SSH_PORT = 22;

/** How to publish a guest port from another host port, in the words of the command used. */
export type PublishFix = (guest: number) => string;

export const createFix: PublishFix = (guest) =>
  `publish it from another host port: --publish HOST:${guest} with a free HOST, or --publish 0:${guest} for any free one`;

const addFix =
  (vm: string): PublishFix =>
  (guest) =>
    `publish it from another host port: "banger vm port add ${vm} ${guest} --host PORT", or --host 0 for any free one`;

/**
 * The host port each request gets — HOST as given, the guest's number when not given, a
 * free one for 0 — refused before anything is made when a port is given twice, belongs to
 * another VM's publish, or something on the host holds it.
 */
export async function resolvePublish(
  ctx: VmContext,
  vm: { name: string },
  requests: readonly PublishRequest[],
  fix: PublishFix,
): Promise<PublishedPort[]> {
  const chosen: PublishedPort[] = [];
  for (const { guest, host } of requests) {
    if (chosen.some((p) => p.guestPort === guest))
      throw new BangerError(ErrorCode.InvalidParams, `guest port ${guest} is published twice`, {
        hint: 'publish each guest port once',
      });
    const wanted = host ?? guest;
    if (wanted === 0) {
      const avoid = new Set([
        ...ctx.store.publishedPorts.hostPorts(),
        ...ctx.handles.ports(),
        ...chosen.map((p) => p.hostPort),
      ]);
      chosen.push({ guestPort: guest, hostPort: await freeHostPort(avoid) });
      continue;
    }
    if (chosen.some((p) => p.hostPort === wanted))
      throw new BangerError(
        ErrorCode.InvalidParams,
        `host port ${wanted} is given for two guest ports`,
        { hint: fix(guest) },
      );
    const owner = ctx.store.publishedPorts.byHostPort(wanted);
    if (owner) {
      const ownerName = ctx.store.vms.find(owner.vmId)?.name ?? owner.vmId;
      throw new BangerError(
        ErrorCode.Conflict,
        `host port ${wanted} is already published to vm "${ownerName}" (its port ${owner.guestPort})`,
        { hint: `${fix(guest)}; or free it: banger vm port rm ${ownerName} ${owner.guestPort}` },
      );
    }
    if (!(await canListen(wanted))) throw hostPortTaken(wanted, vm.name, guest, fix);
    chosen.push({ guestPort: guest, hostPort: wanted });
  }
  return chosen;
}

function hostPortTaken(host: number, vm: string, guest: number, fix: PublishFix): BangerError {
  return new BangerError(
    ErrorCode.Conflict,
    `port ${host} on 127.0.0.1 is already in use (or needs privileges banger lacks): it cannot be published to vm "${vm}"`,
    { hint: fix(guest) },
  );
}

/** `vm port add`: recorded in any state; opened at once when the VM runs. Caller holds the lock. */
export async function addPort(
  ctx: VmContext,
  vm: VmRecord,
  req: PublishRequest,
): Promise<{ name: string; guest: number; host: number; open: boolean }> {
  const existing = ctx.store.publishedPorts.forVm(vm.id).find((p) => p.guestPort === req.guest);
  if (existing)
    throw new BangerError(
      ErrorCode.AlreadyExists,
      `port ${req.guest} of vm "${vm.name}" is already published on 127.0.0.1:${existing.hostPort}`,
      { hint: `to move it, remove it first: banger vm port rm ${vm.name} ${req.guest}` },
    );
  const fix = addFix(vm.name);
  const [port] = await resolvePublish(ctx, vm, [req], fix);
  ctx.store.publishedPorts.add(vm.id, [port!]);
  const handles = await liveHandles(ctx, vm);
  if (handles) {
    try {
      await forwarder(ctx, vm, handles).add(port!);
    } catch (err) {
      ctx.store.publishedPorts.remove(vm.id, req.guest);
      if (err instanceof BangerError && err.code === ErrorCode.Conflict)
        throw hostPortTaken(port!.hostPort, vm.name, req.guest, fix);
      throw err;
    }
  }
  return { name: vm.name, guest: port!.guestPort, host: port!.hostPort, open: !!handles };
}

/** `vm port rm`: closed when the VM runs, and forgotten. Caller holds the VM's lock. */
export async function removePort(
  ctx: VmContext,
  vm: VmRecord,
  guest: number,
): Promise<{ name: string; guest: number; host: number }> {
  const port = ctx.store.publishedPorts.forVm(vm.id).find((p) => p.guestPort === guest);
  if (!port)
    throw new BangerError(ErrorCode.NotFound, `port ${guest} of vm "${vm.name}" is not published`, {
      hint: `"banger vm ports ${vm.name}" lists what is`,
    });
  const handles = await liveHandles(ctx, vm);
  if (handles) await forwarder(ctx, vm, handles).remove(port);
  ctx.forwards.setFailure(vm.id, guest, undefined);
  ctx.store.publishedPorts.remove(vm.id, guest);
  return { name: vm.name, guest, host: port.hostPort };
}

/**
 * Makes the open forwards match the record: each published port not open is opened (a host
 * port taken meanwhile is reported through `warn`, the VM runs on), a forward the record no
 * longer has is closed. Idempotent: at every boot, and at daemon start for each running VM
 * (QEMU's forwards outlived the old daemon; tap relays did not).
 */
export async function openForwards(
  ctx: VmContext,
  vm: VmRecord,
  handles: VmHandles,
  warn: (message: string) => void,
): Promise<void> {
  const wanted = ctx.store.publishedPorts.forVm(vm.id);
  // Nothing published: nothing of ours can be open either (a port's forward closes first).
  if (wanted.length === 0) return;
  const fw = forwarder(ctx, vm, handles);
  const open = await fw.open().catch(() => [] as HostForward[]);
  const same = (a: HostForward) => (b: HostForward) =>
    a.hostPort === b.hostPort && a.guestPort === b.guestPort;
  for (const o of open)
    if (!wanted.some(same(o)) && !(o.guestPort === SSH_PORT && o.hostPort === handles.sshPort))
      await fw.remove(o).catch(() => undefined);
  for (const p of wanted) {
    if (open.some(same(p))) continue;
    try {
      await fw.add(p);
      ctx.forwards.setFailure(vm.id, p.guestPort, undefined);
    } catch (err) {
      const why = errorMessage(err);
      ctx.forwards.setFailure(vm.id, p.guestPort, why);
      warn(`127.0.0.1:${p.hostPort} → port ${p.guestPort} not forwarded: ${why}`);
    }
  }
}

/** At daemon start, after reconcile: the published ports of every running VM. */
export async function restoreForwards(ctx: VmContext): Promise<void> {
  for (const vm of ctx.store.vms.list()) {
    if (vm.state !== 'running' || ctx.store.publishedPorts.forVm(vm.id).length === 0) continue;
    const handles = await liveHandles(ctx, vm);
    if (!handles) continue;
    await openForwards(ctx, vm, handles, (message) => ctx.log.warn({ vm: vm.name }, message)).catch(
      (err: unknown) =>
        ctx.log.warn({ vm: vm.name, err: errorMessage(err) }, 'restoring published ports failed'),
    );
  }
}

/** `vm ports`: what listens in the guest, and where the host reaches each. */
export async function listPorts(
  ctx: VmContext,
  conn: Connection,
  signal: AbortSignal,
): Promise<{ name: string; network: 'user' | 'tap'; guestIp?: string; ports: GuestPort[] }> {
  const { vm, handles } = conn;
  const r = await sshRun(conn.target, ['sh', '-c', LISTENERS_SCRIPT], ctx.runner, {
    timeoutMs: 30_000,
    signal,
  });
  if (r.exitCode !== 0)
    throw new BangerError(
      ErrorCode.Subprocess,
      `vm "${vm.name}": reading its listening ports failed (exit ${r.exitCode})${r.stderr.trim() ? `: ${r.stderr.trim()}` : ''}`,
      { hint: `"banger vm ssh ${vm.name}" to look; "banger vm logs ${vm.name}" for its console` },
    );
  const open = await forwarder(ctx, vm, handles)
    .open()
    .catch(() => [] as HostForward[]);
  return {
    name: vm.name,
    network: vm.networkMode,
    ...(vm.networkMode === 'tap' && vm.guestIp ? { guestIp: vm.guestIp } : {}),
    ports: portRows({
      vm,
      sshPort: handles.sshPort,
      listeners: parseListeners(r.stdout),
      published: ctx.store.publishedPorts.forVm(vm.id),
      open,
      failure: (guest) => ctx.forwards.failure(vm.id, guest),
    }),
  };
}

export interface PortFacts {
  vm: Pick<VmRecord, 'name' | 'networkMode' | 'guestIp'>;
  /** The host port of the VM's ssh (user mode), from its handles. */
  sshPort: number;
  listeners: readonly GuestListener[];
  published: readonly PublishedPort[];
  open: readonly HostForward[];
  failure(guestPort: number): string | undefined;
}

/**
 * One row per protocol and port (IPv4 and IPv6 sockets merged), then the published ports
 * nothing listens on; each with where the host reaches it — tap: its published 127.0.0.1
 * port, NAME.vm and the guest address; user: the forwarded 127.0.0.1 port, or none.
 */
export function portRows(f: PortFacts): GuestPort[] {
  const byKey = new Map<string, { protocol: 'tcp' | 'udp'; port: number; l: GuestListener[] }>();
  for (const l of f.listeners) {
    const key = `${l.protocol}/${l.port}`;
    const row = byKey.get(key) ?? { protocol: l.protocol, port: l.port, l: [] };
    row.l.push(l);
    byKey.set(key, row);
  }
  const rows = [...byKey.values()].map(({ protocol, port, l }) => {
    const addresses = [...new Set(l.map((x) => x.address))];
    const processes = [...new Set(l.flatMap((x) => x.processes))].sort();
    return { ...reachOf(f, protocol, port, addresses), protocol, port, addresses, processes };
  });
  for (const p of f.published)
    if (!byKey.has(`tcp/${p.guestPort}`))
      rows.push({
        ...reachOf(f, 'tcp', p.guestPort, []),
        protocol: 'tcp',
        port: p.guestPort,
        addresses: [],
        processes: [],
      });
  return rows.sort((a, b) => a.protocol.localeCompare(b.protocol) || a.port - b.port);
}

function reachOf(
  f: PortFacts,
  protocol: 'tcp' | 'udp',
  port: number,
  addresses: readonly string[],
): Omit<GuestPort, 'protocol' | 'port' | 'addresses' | 'processes'> {
  const listening = addresses.length > 0;
  const ssh = protocol === 'tcp' && port === SSH_PORT;
  const record = protocol === 'tcp' ? f.published.find((p) => p.guestPort === port) : undefined;
  const isOpen =
    record !== undefined &&
    f.open.some((o) => o.hostPort === record.hostPort && o.guestPort === port);
  const error = record && !isOpen ? (f.failure(port) ?? 'not open') : undefined;
  const base = {
    listening,
    ssh,
    ...(record
      ? { published: { host: record.hostPort, open: isOpen, ...(error ? { error } : {}) } }
      : {}),
  };
  // Forwards and the host's routes arrive at the guest's address, never at its loopback.
  const guestIp = f.vm.guestIp ?? '';
  const reachable =
    !listening ||
    addresses.some((a) => isWildcard(a) || a === guestIp || a === `::ffff:${guestIp}`);
  if (!reachable)
    return {
      ...base,
      reach: [],
      note: addresses.every(isLoopback)
        ? 'guest loopback only'
        : `bound to ${addresses.join(', ')} only`,
    };
  const local = isOpen ? [`127.0.0.1:${record.hostPort}`] : [];
  const direct =
    f.vm.networkMode === 'tap'
      ? [`${f.vm.name}.vm:${port}`, ...(guestIp ? [`${guestIp}:${port}`] : [])]
      : ssh && f.sshPort > 0
        ? [`127.0.0.1:${f.sshPort}`]
        : [];
  const reach = [...local, ...direct];
  const note = ssh
    ? "banger's ssh"
    : error
      ? `not forwarded: ${error}`
      : !listening
        ? 'nothing listens on it yet'
        : reach.length === 0
          ? 'not forwarded'
          : undefined;
  return { ...base, reach, ...(note ? { note } : {}) };
}

function forwarder(ctx: VmContext, vm: VmRecord, handles: VmHandles): Forwarder {
  return ctx.forwards.for(vm, handles, ctx.vmms.forDriver(handles.driver));
}
