// config.toml is the one place users tune banger, so every key is declared here with its limits:
// a typo or a bad value fails at load with the key named, never later inside a VM operation.
import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { type SpecField, specProblem } from './limits.js';
import { SizeError, parseMemoryMiB, parseSize } from './size.js';
import {
  bridgeProblem,
  cidrProblem,
  imageNameProblem,
  programProblem,
  syncPathProblem,
} from './problems.js';
import { egressProblem, formatEgress, parseEgress } from '../egress/policy.js';
import { resolverProblem } from '../egress/resolve.js';

export const DEFAULT_IMAGE_NAME = 'debian-bookworm';
export const DEFAULT_SUBNET = '172.30.0.0/24';
export const DEFAULT_BRIDGE = 'banger0';
export const DEFAULT_DNS_PORT = 42069;
/** The egress proxy's port on the bridge address (tap VMs). */
export const DEFAULT_EGRESS_PORT = 42070;
/** A running VM's console.log is rotated past this (vm/console-cap.ts). */
export const DEFAULT_CONSOLE_MAX = 8 * 1024 * 1024;
/** What a session keeps of its output in the guest (session/script.ts). */
export const DEFAULT_SESSION_MAX = 8 * 1024 * 1024;

export const VMM_DRIVERS = ['auto', 'qemu', 'firecracker'] as const;
export const VMM_ACCELS = ['auto', 'kvm', 'tcg'] as const;
export const NETWORK_MODES = ['user', 'tap'] as const;

export interface FileSyncEntry {
  host: string;
  guest: string;
  mode: number | undefined;
}

export interface Config {
  defaultImageName: string;
  vmDefaults: { vcpu?: number; memoryMiB?: number; diskBytes?: number };
  fileSync: FileSyncEntry[];
  vmm: {
    driver: (typeof VMM_DRIVERS)[number];
    accel: (typeof VMM_ACCELS)[number];
    qemuBinary?: string;
    qemuImgBinary?: string;
    firecrackerBinary?: string;
    /** host_limits: confine each VM's QEMU to its memory and vCPUs where the host can. */
    hostLimits: boolean;
  };
  network: {
    mode: (typeof NETWORK_MODES)[number];
    subnet: string;
    bridge: string;
    dnsPort: number;
    /** What a VM's guest may reach outside by default: `none`, `all` or names (egress/policy.ts). */
    egress: string;
    /** Ports a listed name may be reached on through the proxy. */
    egressPorts: number[];
    /** DNS servers (`IP` or `IP:PORT`) the proxy resolves names with; empty: the host's resolver. */
    egressDns: string[];
    /** Where the proxy listens on the bridge address for tap VMs. */
    egressPort: number;
    /** Tap VMs may reach each other (default: isolated). */
    vmToVm: boolean;
  };
  /** The golden image build: Debian mirror (default: the host's apt sources), extra packages. */
  imageBuild: { mirror?: string; packages: string[] };
  /** Catalog files (paths or http(s) URLs), searched before the embedded catalog. */
  catalog: { images: string[]; kernels: string[] };
  /**
   * OCI registries: where a reference without a registry goes (default Docker Hub), and the
   * host[:port] entries reached over plain HTTP (loopback always is).
   */
  oci: { defaultRegistry?: string; insecureRegistries: string[] };
  /** manage_config: keep banger's Include block in ~/.ssh/config, for `ssh NAME.vm`. */
  ssh: { manageConfig: boolean };
  /** auto: after a VM shape's first cold boot, make its warm-start template in the background. */
  warm: { auto: boolean };
  /**
   * console_max: a running VM's console.log is rotated past this many bytes.
   * session_max: what a session's output keeps in the guest (its newest bytes, at most this).
   */
  logs: { consoleMaxBytes: number; sessionMaxBytes: number };
}

/** How a TOML value reads in an error message: strings quoted, tables and arrays by kind. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value instanceof Date) return 'a date';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    return String(value);
  }
  return value === undefined || value === null ? 'nothing' : 'a table';
}

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  array: 'an array',
  object: 'a table',
};

/** Passed to safeParse so zod's built-in issues read like the messages written below. */
export const configErrorMap: z.core.$ZodErrorMap = (iss) => {
  switch (iss.code) {
    case 'invalid_type':
      if (iss.input === undefined) return 'required key is missing';
      return `expected ${TYPE_NAMES[iss.expected] ?? iss.expected}, got ${describeValue(iss.input)}`;
    case 'invalid_value':
      return `expected one of ${iss.values.map(String).join(', ')}, got ${describeValue(iss.input)}`;
    default:
      return undefined;
  }
};

/** A string checked by `problem`, which returns what is wrong or undefined. */
function text(problem: (value: string) => string | undefined) {
  return z.string().superRefine((value, ctx) => {
    const message = value === '' ? 'must not be empty' : problem(value);
    if (message !== undefined) ctx.addIssue({ code: 'custom', message, input: value });
  });
}

/** A TOML table with exactly these keys; dates are objects too, so check for a plain table. */
function table<Shape extends z.core.$ZodLooseShape>(shape: Shape) {
  const isTable = (v: unknown) =>
    typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
  return z
    .custom<Record<string, unknown>>(isTable, {
      error: (iss) => `expected a table, got ${describeValue(iss.input)}`,
    })
    .pipe(z.strictObject(shape));
}

function intRange(min: number, max: number) {
  const error = (iss: { input?: unknown }) =>
    `must be between ${min} and ${max}, got ${describeValue(iss.input)}`;
  return z.number().int().min(min, { error }).max(max, { error });
}

/**
 * A VM size key: a whole number (vcpu) or a size (`parse` turns a string or number into the
 * unit), then the limits every VM size obeys, with the key named (`vm_defaults.memory`).
 */
function vmSize(key: string, field: SpecField, parse?: (v: string | number) => number) {
  return z.unknown().transform((value, ctx) => {
    const fail = (message: string, whole = false) => {
      ctx.addIssue({ code: 'custom', message, ...(whole ? { params: { whole } } : {}) });
      return z.NEVER;
    };
    let n: number;
    if (parse === undefined) {
      if (typeof value !== 'number') return fail(`expected a number, got ${describeValue(value)}`);
      if (!Number.isInteger(value)) return fail(`expected a whole number, got ${value}`);
      n = value;
    } else {
      if (typeof value !== 'string' && typeof value !== 'number') {
        return fail(`expected a size like "8G", got ${describeValue(value)}`);
      }
      try {
        n = parse(value);
      } catch (err) {
        if (!(err instanceof SizeError)) throw err;
        return fail(err.message);
      }
    }
    const problem = specProblem(field, n, `vm_defaults.${key}`);
    return problem === undefined ? n : fail(problem, true);
  });
}

const modeSchema = z
  .string({
    error: (iss) => `expected an octal string like "0600", got ${describeValue(iss.input)}`,
  })
  .superRefine((value, ctx) => {
    if (/^[0-7]{3,4}$/.test(value)) return;
    const message = `${JSON.stringify(value)} is not a file mode; use 3 or 4 octal digits like "0600" or "0755"`;
    ctx.addIssue({ code: 'custom', message, input: value });
  })
  .transform((value) => parseInt(value, 8));

const vmDefaultsShape = {
  vcpu: vmSize('vcpu', 'vcpu').optional(),
  memory: vmSize('memory', 'memoryMiB', parseMemoryMiB).optional(),
  disk_size: vmSize('disk_size', 'diskBytes', (v) =>
    typeof v === 'number' ? bytesNumber(v) : parseSize(v),
  ).optional(),
};
const fileSyncShape = {
  host: text((p) => syncPathProblem('host', p)),
  guest: text((p) => syncPathProblem('guest', p)),
  mode: modeSchema.optional(),
};
const vmmShape = {
  driver: z.enum(VMM_DRIVERS).optional(),
  accel: z.enum(VMM_ACCELS).optional(),
  qemu_binary: text(programProblem).optional(),
  qemu_img_binary: text(programProblem).optional(),
  firecracker_binary: text(programProblem).optional(),
  host_limits: z.boolean().optional(),
};
const networkShape = {
  mode: z.enum(NETWORK_MODES).optional(),
  subnet: text(cidrProblem).optional(),
  bridge: text(bridgeProblem).optional(),
  dns_port: intRange(1, 65535).optional(),
  nat: z.boolean().optional(),
  egress: text(egressProblem).optional(),
  egress_ports: z.array(intRange(1, 65535)).optional(),
  egress_dns: z.array(text(resolverProblem)).optional(),
  egress_port: intRange(1, 65535).optional(),
  vm_to_vm: z.boolean().optional(),
};
const DEB_PACKAGE = /^[a-z0-9][a-z0-9+.-]+$/;
const imageBuildShape = {
  mirror: text((v) =>
    /^(https?|file):\/\/\S+$/.test(v)
      ? undefined
      : `${JSON.stringify(v)} is not an http(s) or file URL`,
  ).optional(),
  packages: z
    .array(
      text((v) =>
        DEB_PACKAGE.test(v) ? undefined : `${JSON.stringify(v)} is not a Debian package name`,
      ),
    )
    .optional(),
};
const catalogSource = text((v) =>
  /^https?:\/\/\S+$/.test(v) || v.startsWith('/') || v.startsWith('~/')
    ? undefined
    : `${JSON.stringify(v)} is neither an http(s) URL nor an absolute path`,
);
const catalogShape = {
  images: z.array(catalogSource).optional(),
  kernels: z.array(catalogSource).optional(),
};
const registryHost = text((v) =>
  /^[a-z0-9.-]+(:\d{1,5})?$/i.test(v)
    ? undefined
    : `${JSON.stringify(v)} is not a registry host[:port]`,
);
const ociShape = {
  default_registry: registryHost.optional(),
  insecure_registries: z.array(registryHost).optional(),
};
const warmShape = {
  auto: z.boolean().optional(),
};
const sshShape = {
  manage_config: z.boolean().optional(),
};
/** A log bound: a size like "8M" (or a number of bytes), at least 64K. */
const logBound = z
  .union([z.number(), z.string()], {
    error: (iss) => `expected a size like "8M", got ${describeValue(iss.input)}`,
  })
  .transform((v, ctx) => {
    try {
      const bytes = typeof v === 'number' ? bytesNumber(v) : parseSize(v);
      if (bytes >= 64 * 1024) return bytes;
      ctx.addIssue({ code: 'custom', message: `must be at least 64K, got ${String(v)}` });
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
    }
    return z.NEVER;
  })
  .optional();
const logsShape = {
  console_max: logBound,
  session_max: logBound,
};
const topShape = {
  default_image_name: text(imageNameProblem).optional(),
  vm_defaults: table(vmDefaultsShape).optional(),
  file_sync: z
    .array(table(fileSyncShape), {
      error: (iss) =>
        `expected [[file_sync]] entries (an array of tables), got ${describeValue(iss.input)}`,
    })
    .optional(),
  vmm: table(vmmShape).optional(),
  network: table(networkShape).optional(),
  image_build: table(imageBuildShape).optional(),
  catalog: table(catalogShape).optional(),
  oci: table(ociShape).optional(),
  ssh: table(sshShape).optional(),
  warm: table(warmShape).optional(),
  logs: table(logsShape).optional(),
};

/** `~/x` is the host user's home, as in a shell. */
function expandHome(path: string): string {
  return path.startsWith('~/') ? join(homedir(), path.slice(2)) : path;
}

function bytesNumber(value: number): number {
  if (Number.isSafeInteger(value) && value >= 0) return value;
  throw new SizeError(`invalid size ${value}: a number of bytes must be a whole number`);
}

/** The keys each table accepts, for "did you mean" on unknown keys; '' is the top level. */
export const KNOWN_KEYS: Record<string, readonly string[]> = {
  '': Object.keys(topShape),
  vm_defaults: Object.keys(vmDefaultsShape),
  file_sync: Object.keys(fileSyncShape),
  vmm: Object.keys(vmmShape),
  network: Object.keys(networkShape),
  image_build: Object.keys(imageBuildShape),
  catalog: Object.keys(catalogShape),
  oci: Object.keys(ociShape),
  ssh: Object.keys(sshShape),
  warm: Object.keys(warmShape),
  logs: Object.keys(logsShape),
};

const rawSchema = z.strictObject(topShape);

function toConfig(raw: z.output<typeof rawSchema>): Config {
  const { vm_defaults: vd = {}, vmm = {}, network = {}, image_build: ib = {}, catalog = {} } = raw;
  const oci = raw.oci ?? {};
  return {
    defaultImageName: raw.default_image_name ?? DEFAULT_IMAGE_NAME,
    vmDefaults: { vcpu: vd.vcpu, memoryMiB: vd.memory, diskBytes: vd.disk_size },
    fileSync: (raw.file_sync ?? []).map(({ host, guest, mode }) => ({ host, guest, mode })),
    vmm: {
      driver: vmm.driver ?? 'auto',
      accel: vmm.accel ?? 'auto',
      qemuBinary: vmm.qemu_binary,
      qemuImgBinary: vmm.qemu_img_binary,
      firecrackerBinary: vmm.firecracker_binary,
      hostLimits: vmm.host_limits ?? true,
    },
    network: {
      mode: network.mode ?? 'user',
      subnet: network.subnet ?? DEFAULT_SUBNET,
      bridge: network.bridge ?? DEFAULT_BRIDGE,
      dnsPort: network.dns_port ?? DEFAULT_DNS_PORT,
      // nat = true is what egress = "all" says (it came first).
      egress: network.egress
        ? formatEgress(parseEgress(network.egress, 'network.egress'))
        : network.nat
          ? 'all'
          : 'none',
      egressPorts: network.egress_ports ?? [80, 443],
      egressDns: network.egress_dns ?? [],
      egressPort: network.egress_port ?? DEFAULT_EGRESS_PORT,
      vmToVm: network.vm_to_vm ?? false,
    },
    imageBuild: { mirror: ib.mirror, packages: ib.packages ?? [] },
    catalog: {
      images: (catalog.images ?? []).map(expandHome),
      kernels: (catalog.kernels ?? []).map(expandHome),
    },
    oci: {
      defaultRegistry: oci.default_registry,
      insecureRegistries: oci.insecure_registries ?? [],
    },
    ssh: { manageConfig: raw.ssh?.manage_config ?? true },
    warm: { auto: raw.warm?.auto ?? true },
    logs: {
      consoleMaxBytes: raw.logs?.console_max ?? DEFAULT_CONSOLE_MAX,
      sessionMaxBytes: raw.logs?.session_max ?? DEFAULT_SESSION_MAX,
    },
  };
}

/** Parsed TOML in, Config with defaults out. Use with `{ error: configErrorMap }`. */
export const configSchema = rawSchema.transform(toConfig);

export function validateConfig(data: unknown): z.ZodSafeParseResult<Config> {
  return configSchema.safeParse(data, { error: configErrorMap });
}

export function defaultConfig(): Config {
  return toConfig({});
}
