import { z } from 'zod';
import { imageRef } from './image.js';
import { OWNER_PATTERN } from './owner.js';
import { ANY_STATE, defineMethod, NOT_RUNNING, RUNNING, STARTABLE } from './method.js';

/** Every state a VM can be in, and 'broken' for one whose state cannot be read (vm list). */
export const vmState = z.enum([...ANY_STATE, 'broken']);

export const ref = z.string().min(1).max(63);
export const spec = {
  vcpu: z.number().int().positive(),
  memoryMiB: z.number().int().positive(),
  diskBytes: z.number().int().positive(),
};
/** Test and debugging knob: how long to wait for the guest's sshd (default 90 s). */
const sshWaitMs = z.number().int().positive().max(3_600_000).optional();
const port = z.number().int().min(1).max(65535);
/** A host port to publish on: 0 asks for any free one. */
const hostPort = z.number().int().min(0).max(65535);

/** A port published on the host's 127.0.0.1: `guest` as `host` (default: the same number). */
export const publishRequest = z.strictObject({ guest: port, host: hostPort.optional() });
export type PublishRequest = z.output<typeof publishRequest>;
const published = z.object({ guest: z.number().int(), host: z.number().int() });

/** One row of `vm list`: a VM whose state cannot be read is 'broken' with its error. */
export const vmSummary = z.object({
  id: z.string(),
  name: z.string(),
  state: vmState,
  image: z.string(),
  vcpu: z.number().int(),
  memoryMiB: z.number().int(),
  diskBytes: z.number().int(),
  createdAt: z.string(),
  sshPort: z.number().int().optional(),
  error: z.string().optional(),
  /** Who deletes it when they end (`mcp:<pid>:<session>`); absent for a user's own VM. */
  owner: z.string().optional(),
});
export type VmSummary = z.output<typeof vmSummary>;

export const vmDetail = vmSummary.extend({
  nat: z.boolean(),
  /** `none`, `all` or the names the guest may reach through the egress proxy. */
  egress: z.string(),
  network: z.string(),
  guestIp: z.string().optional(),
  dir: z.string(),
  consoleLog: z.string(),
  updatedAt: z.string(),
  pid: z.number().int().optional(),
  vmm: z.string().optional(),
  startedAt: z.string().optional(),
  /** Ports published on 127.0.0.1 (vm create --publish, vm port add). */
  published: z.array(published).optional(),
});
export type VmDetail = z.output<typeof vmDetail>;

export const vmList = defineMethod({
  name: 'vm.list',
  params: z.strictObject({}).optional(),
  result: z.object({ vms: z.array(vmSummary) }),
  onDisconnect: 'finish',
  progress: false,
});

/** Names only, for shell completion: no per-VM inspection, as cheap as the store read. */
export const vmNames = defineMethod({
  name: 'vm.names',
  params: z.strictObject({}).optional(),
  result: z.object({ names: z.array(z.string()) }),
  onDisconnect: 'cancel',
  progress: false,
});

/** Cancelled with the client (Ctrl-C): a VM whose create was interrupted is removed. */
export const vmCreate = defineMethod({
  name: 'vm.create',
  params: z.strictObject({
    name: z.string().min(1).max(63).optional(),
    /** An image name, a catalog entry or an OCI reference (pulled on first use). */
    image: imageRef.optional(),
    ...spec,
    /** user (QEMU's, rootless) or tap (bridge, own address); default: network.mode. */
    network: z.enum(['user', 'tap']).optional(),
    /** What the guest may reach outside: none, all, or names (`pypi.org,*.npmjs.org`). */
    egress: z.string().min(1).max(4096).optional(),
    /** The older spelling of egress all (true) / none (false). */
    nat: z.boolean().optional(),
    sshWaitMs,
    /** A repository to be copied in once the VM runs (vm run PATH): checked before boot. */
    workspace: z.string().startsWith('/', 'must be an absolute path').optional(),
    /** Ports to publish on 127.0.0.1 (TCP), refused before anything is made when taken. */
    publish: z.array(publishRequest).max(64).optional(),
    /** Boot, even when a warm-start template of this image and size exists. */
    cold: z.boolean().optional(),
    /** Who deletes it when they end: `mcp:<pid>:<session>` for a `banger mcp` session's. */
    owner: z.string().regex(OWNER_PATTERN, 'not an owner label').optional(),
  }),
  result: vmDetail,
  onDisconnect: 'cancel',
  progress: true,
});

/** A suspended VM resumes where it was saved; `cold` discards its saved state and boots. */
export const vmStart = defineMethod({
  name: 'vm.start',
  params: z.strictObject({ ref, sshWaitMs, cold: z.boolean().optional() }),
  result: vmDetail,
  onDisconnect: 'finish',
  progress: true,
  vm: { states: STARTABLE, lock: 'operation' },
});

export const vmRestart = defineMethod({
  name: 'vm.restart',
  params: z.strictObject({ ref, sshWaitMs }),
  result: vmDetail,
  onDisconnect: 'finish',
  progress: true,
  vm: { states: ANY_STATE, lock: 'operation' },
});

const stopped = z.object({
  name: z.string(),
  wasRunning: z.boolean(),
  /** vm stop --save: bytes of the saved memory and device state. */
  savedBytes: z.number().int().optional(),
});

/** `save`: the memory and device state written next to the disks, for the next vm start. */
export const vmStop = defineMethod({
  name: 'vm.stop',
  params: z.strictObject({ ref, save: z.boolean().optional() }),
  result: stopped,
  onDisconnect: 'finish',
  progress: false,
  vm: { states: ANY_STATE, lock: 'operation' },
});

export const vmKill = defineMethod({
  name: 'vm.kill',
  params: z.strictObject({ ref }),
  result: stopped,
  onDisconnect: 'finish',
  progress: false,
  vm: { states: ANY_STATE, lock: 'operation' },
});

export const vmDelete = defineMethod({
  name: 'vm.delete',
  params: z.strictObject({ ref }),
  result: z.object({ name: z.string() }),
  onDisconnect: 'finish',
  progress: false,
  vm: { states: ANY_STATE, lock: 'operation' },
});

export const vmSet = defineMethod({
  name: 'vm.set',
  params: z.strictObject({
    ref,
    vcpu: spec.vcpu.optional(),
    memoryMiB: spec.memoryMiB.optional(),
    diskBytes: spec.diskBytes.optional(),
  }),
  result: vmDetail,
  onDisconnect: 'finish',
  progress: false,
  vm: { states: NOT_RUNNING, lock: 'operation' },
});

export const vmShow = defineMethod({
  name: 'vm.show',
  params: z.strictObject({ ref }),
  result: vmDetail,
  onDisconnect: 'finish',
  progress: false,
});

export const vmStats = defineMethod({
  name: 'vm.stats',
  params: z.strictObject({ ref }),
  result: z.object({
    name: z.string(),
    running: z.boolean(),
    pid: z.number().int().optional(),
    host: z
      .object({
        cpuSeconds: z.number(),
        cpuPercent: z.number(),
        rssBytes: z.number().int(),
        /** Of rssBytes, what backs guest RAM; the rest is the VMM's own overhead. */
        guestResidentBytes: z.number().int(),
      })
      .optional(),
    disk: z.object({
      systemBytes: z.number().int(),
      workBytes: z.number().int(),
      workSizeBytes: z.number().int(),
    }),
    guest: z
      .object({
        uptimeSeconds: z.number(),
        memoryTotalBytes: z.number().int(),
        memoryUsedBytes: z.number().int(),
      })
      .optional(),
  }),
  onDisconnect: 'cancel',
  progress: false,
});

/** Where the serial console is logged; the CLI reads (and follows) the file itself. */
export const vmLogs = defineMethod({
  name: 'vm.logs',
  /** egress: the egress proxy's log of the VM's guest instead of its console. */
  params: z.strictObject({ ref, egress: z.boolean().optional() }),
  result: z.object({ name: z.string(), path: z.string() }),
  onDisconnect: 'cancel',
  progress: false,
});

/** How to reach a running VM's sshd; the CLI runs OpenSSH itself (it owns the terminal). */
export const vmSsh = defineMethod({
  name: 'vm.ssh',
  params: z.strictObject({ ref }),
  result: z.object({
    name: z.string(),
    host: z.string(),
    port: z.number().int(),
    user: z.string(),
    keyFile: z.string(),
    controlPath: z.string(),
    /** banger's known_hosts and the VM's alias in it: the host key is checked strictly. */
    knownHostsFile: z.string(),
    hostKeyAlias: z.string(),
    /** How a user's command runs there: its image's Env, WorkingDir and User. */
    run: z
      .object({
        env: z.array(z.string()),
        workingDir: z.string().optional(),
        runAs: z.array(z.string()).optional(),
      })
      .optional(),
  }),
  onDisconnect: 'cancel',
  progress: false,
  vm: { states: RUNNING, lock: 'connect' },
});

const absolutePath = z.string().startsWith('/', 'must be an absolute path');

/** Cancelled with the client: the copy lands beside /root/repo and is swapped in at the end. */
export const vmWorkspacePrepare = defineMethod({
  name: 'vm.workspace.prepare',
  params: z.strictObject({
    ref,
    path: absolutePath,
    // Both become git arguments in the guest: nothing git could read as an option.
    branch: z
      .string()
      .min(1)
      .max(255)
      .regex(/^[^-\s]\S*$/, 'not a branch name')
      .optional(),
    from: z
      .string()
      .min(1)
      .max(255)
      .regex(/^[^-\s]\S*$/, 'not a revision')
      .optional(),
  }),
  result: z.object({
    name: z.string(),
    root: z.string(),
    base: z.string(),
    files: z.number().int(),
    /** How the files travelled: the VM's data port, or ssh when it has none. */
    via: z.enum(['data port', 'ssh']),
    branch: z.string().optional(),
  }),
  onDisconnect: 'cancel',
  progress: true,
  vm: { states: RUNNING, lock: 'connect' },
});

/** Writes the patch (or the names) to `out`; read-only in the guest. */
export const vmWorkspaceExport = defineMethod({
  name: 'vm.workspace.export',
  params: z.strictObject({ ref, out: absolutePath, nameOnly: z.boolean().optional() }),
  result: z.object({ name: z.string(), bytes: z.number().int() }),
  onDisconnect: 'cancel',
  progress: false,
  vm: { states: RUNNING, lock: 'connect' },
});

/**
 * `vm cp` between a host path and a guest path, streamed by bangerd (the data port, else
 * ssh); staged and moved into place on each side, so a cancelled copy leaves nothing.
 */
export const vmCopy = defineMethod({
  name: 'vm.cp',
  params: z.strictObject({
    ref,
    direction: z.enum(['in', 'out']),
    host: absolutePath,
    guest: absolutePath,
  }),
  result: z.object({ name: z.string(), via: z.enum(['data port', 'ssh']) }),
  onDisconnect: 'cancel',
  progress: true,
  vm: { states: RUNNING, lock: 'connect' },
});

/** One listening port of the guest, or a published port nothing listens on yet. */
export const guestPort = z.object({
  protocol: z.enum(['tcp', 'udp']),
  port: z.number().int(),
  /** The guest addresses it is bound to (0.0.0.0, ::, 127.0.0.1 …); empty when nothing listens. */
  addresses: z.array(z.string()),
  /** The processes holding it, where the guest can tell. */
  processes: z.array(z.string()),
  listening: z.boolean(),
  /** banger's own sshd. */
  ssh: z.boolean(),
  /** Where the host reaches it (host:port); empty when it cannot, and `note` says why. */
  reach: z.array(z.string()),
  note: z.string().optional(),
  /** Its published forward, and whether that is open now (with the reason when not). */
  published: z
    .object({ host: z.number().int(), open: z.boolean(), error: z.string().optional() })
    .optional(),
});
export type GuestPort = z.output<typeof guestPort>;

/** Reads the guest's /proc/net over ssh: a read, so a disconnect cancels it. */
export const vmPorts = defineMethod({
  name: 'vm.ports',
  params: z.strictObject({ ref }),
  result: z.object({
    name: z.string(),
    network: z.enum(['user', 'tap']),
    guestIp: z.string().optional(),
    ports: z.array(guestPort),
  }),
  onDisconnect: 'cancel',
  progress: false,
  vm: { states: RUNNING, lock: 'connect' },
});

/** Recorded in any state; opened at once when the VM runs (and at each start). */
export const vmPortAdd = defineMethod({
  name: 'vm.port.add',
  params: z.strictObject({ ref, guest: port, host: hostPort.optional() }),
  result: z.object({
    name: z.string(),
    guest: z.number().int(),
    host: z.number().int(),
    open: z.boolean(),
  }),
  onDisconnect: 'finish',
  progress: false,
  vm: { states: ANY_STATE, lock: 'operation' },
});

export const vmPortRm = defineMethod({
  name: 'vm.port.rm',
  params: z.strictObject({ ref, guest: port }),
  result: z.object({ name: z.string(), guest: z.number().int(), host: z.number().int() }),
  onDisconnect: 'finish',
  progress: false,
  vm: { states: ANY_STATE, lock: 'operation' },
});
