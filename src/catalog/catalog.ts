// A catalog file is JSON in the reference's shape so a team can publish one with any web
// server; every entry is checked at load so a bad one fails naming its index and key.
import { isAbsolute } from 'node:path';
import { z } from 'zod';
import { BangerError, ErrorCode } from '../errors.js';
import { isValidName, nameProblem } from '../config/names.js';

export interface CatalogEntry {
  name: string;
  distro?: string;
  arch?: string;
  kernelRef?: string;
  kernelVersion?: string;
  description?: string;
  tarballUrl?: string;
  tarballSha256?: string;
  sizeBytes?: number;
  /** A local build recipe (e.g. "debian-bookworm"): the entry can be built instead of fetched. */
  recipe?: string;
}

export interface Catalog {
  readonly version: 1;
  readonly entries: readonly CatalogEntry[];
}

export const SHA256_RE = /^[0-9a-f]{64}$/;

/** http(s) and file:// URLs and absolute paths; a relative path would depend on the cwd. */
export function isTarballLocation(value: string): boolean {
  if (/^https?:\/\/[^/\s]+/i.test(value) || /^file:\/\/\//i.test(value)) {
    return URL.canParse(value);
  }
  return isAbsolute(value) && !value.includes('\0');
}

const nameField = (what: string) =>
  z.string().refine(isValidName, { error: (iss) => nameProblem(what, String(iss.input)) });
const textField = z.string().min(1, { error: 'must not be empty' });

const entrySchema = z
  .strictObject({
    name: nameField('catalog entry'),
    distro: textField.optional(),
    arch: textField.optional(),
    kernel_ref: nameField('kernel').optional(),
    kernel_version: textField.optional(),
    description: z.string().optional(),
    tarball_url: z
      .string()
      .refine(isTarballLocation, {
        error: 'must be an http(s) URL, a file:// URL or an absolute path',
      })
      .optional(),
    tarball_sha256: z
      .string()
      .regex(SHA256_RE, { error: 'must be 64 lowercase hex digits' })
      .optional(),
    size_bytes: z.int().min(0, { error: 'must not be negative' }).optional(),
    recipe: nameField('recipe').optional(),
  })
  .refine((e) => e.tarball_url === undefined || e.tarball_sha256 !== undefined, {
    error: 'required when tarball_url is set: downloads are always checked',
    path: ['tarball_sha256'],
  });

const catalogSchema = z.strictObject({
  version: z.literal(1, {
    error: (iss) => (iss.input === undefined ? 'required key is missing' : 'must be 1'),
  }),
  entries: z.array(entrySchema),
});

type RawEntry = z.infer<typeof entrySchema>;

function fromRaw(raw: RawEntry): CatalogEntry {
  const entry: CatalogEntry = { name: raw.name };
  if (raw.distro !== undefined) entry.distro = raw.distro;
  if (raw.arch !== undefined) entry.arch = raw.arch;
  if (raw.kernel_ref !== undefined) entry.kernelRef = raw.kernel_ref;
  if (raw.kernel_version !== undefined) entry.kernelVersion = raw.kernel_version;
  if (raw.description !== undefined) entry.description = raw.description;
  if (raw.tarball_url !== undefined) entry.tarballUrl = raw.tarball_url;
  if (raw.tarball_sha256 !== undefined) entry.tarballSha256 = raw.tarball_sha256;
  if (raw.size_bytes !== undefined) entry.sizeBytes = raw.size_bytes;
  if (raw.recipe !== undefined) entry.recipe = raw.recipe;
  return entry;
}

/** The file form of an entry (snake_case, unset keys omitted): what make-bundle prints. */
export function entryToJson(entry: CatalogEntry): Record<string, string | number> {
  const out: Record<string, string | number | undefined> = {
    name: entry.name,
    distro: entry.distro,
    arch: entry.arch,
    kernel_ref: entry.kernelRef,
    kernel_version: entry.kernelVersion,
    description: entry.description,
    tarball_url: entry.tarballUrl,
    tarball_sha256: entry.tarballSha256,
    size_bytes: entry.sizeBytes,
    recipe: entry.recipe,
  };
  return Object.fromEntries(Object.entries(out).filter(([, v]) => v !== undefined)) as Record<
    string,
    string | number
  >;
}

export function formatCatalog(catalog: Catalog): string {
  return `${JSON.stringify({ version: 1, entries: catalog.entries.map(entryToJson) }, null, 2)}\n`;
}

/** `entries[2].tarball_sha256` from ['entries', 2, 'tarball_sha256']. */
function keyPath(path: readonly PropertyKey[]): string {
  return path
    .map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`))
    .join('');
}

function describeJson(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  return typeof value === 'object' ? 'an object' : JSON.stringify(value);
}

/** zod's built-in type errors, worded for a JSON file. */
const errorMap: z.core.$ZodErrorMap = (iss) => {
  if (iss.code !== 'invalid_type') return undefined;
  if (iss.input === undefined) return 'required key is missing';
  const expected = iss.expected === 'int' ? 'a whole number' : iss.expected;
  return `expected ${expected}, got ${describeJson(iss.input)}`;
};

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') {
    return `unknown key ${JSON.stringify(keyPath([...issue.path, issue.keys[0] ?? '']))}`;
  }
  return issue.path.length > 0 ? `${keyPath(issue.path)}: ${issue.message}` : issue.message;
}

export function parseCatalog(text: string, source: string): Catalog {
  const fail = (what: string, cause?: unknown): never => {
    throw new BangerError(ErrorCode.Config, `catalog ${source}: ${what}`, {
      hint: `fix the catalog file, or remove ${source} from [catalog] in config.toml`,
      cause,
    });
  };
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    return fail(`not valid JSON: ${err instanceof Error ? err.message : String(err)}`, err);
  }
  const result = catalogSchema.safeParse(data, { error: errorMap });
  if (!result.success) {
    const issues = result.error.issues;
    const issue = issues.find((i) => i.code === 'unrecognized_keys') ?? issues[0];
    return fail(issue === undefined ? 'invalid catalog' : describeIssue(issue), result.error);
  }
  const seen = new Map<string, number>();
  result.data.entries.forEach((e, i) => {
    const first = seen.get(e.name);
    if (first !== undefined) fail(`entries[${i}].name: ${e.name} is already entries[${first}]`);
    seen.set(e.name, i);
  });
  return { version: 1, entries: result.data.entries.map(fromRaw) };
}
