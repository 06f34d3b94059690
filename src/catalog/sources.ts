// Config catalogs come before the embedded one so a team can shadow an entry by name. A source
// that cannot be loaded is an error naming it: silently skipping it would pull a different image.
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { BangerError, ErrorCode, errorMessage } from '../errors.js';
import { MiB, formatSize } from '../config/size.js';
import { parseCatalog, type Catalog, type CatalogEntry } from './catalog.js';
import { discard, httpDispatcher } from './download.js';
import { EMBEDDED_SOURCE, embeddedCatalog } from './embedded.js';

export type CatalogKind = 'images' | 'kernels';

export interface LoadedCatalog {
  source: string;
  catalog: Catalog;
}

export interface LoadCatalogOptions {
  signal?: AbortSignal;
  fetchTimeoutMs?: number;
}

export const MAX_CATALOG_BYTES = 4 * MiB;
export const DEFAULT_CATALOG_TIMEOUT_MS = 30_000;

export async function loadCatalogs(
  kind: CatalogKind,
  configSources: readonly string[],
  options: LoadCatalogOptions = {},
): Promise<LoadedCatalog[]> {
  // Fetched in parallel; the first failure in config order is the one reported.
  const settled = await Promise.allSettled(configSources.map((s) => loadOne(s, options)));
  const loaded: LoadedCatalog[] = [];
  settled.forEach((result, i) => {
    if (result.status === 'rejected') throw result.reason;
    loaded.push({ source: configSources[i] ?? '', catalog: result.value });
  });
  loaded.push({ source: EMBEDDED_SOURCE, catalog: embeddedCatalog(kind) });
  return loaded;
}

export function findEntry(
  catalogs: readonly LoadedCatalog[],
  name: string,
): { entry: CatalogEntry; source: string } | undefined {
  for (const { source, catalog } of catalogs) {
    const entry = catalog.entries.find((e) => e.name === name);
    if (entry !== undefined) return { entry, source };
  }
  return undefined;
}

async function loadOne(source: string, options: LoadCatalogOptions): Promise<Catalog> {
  let text: string;
  try {
    text = await readSource(source, options);
  } catch (err) {
    if (options.signal?.aborted) {
      throw new BangerError(ErrorCode.Cancelled, `loading catalog ${source} was cancelled`);
    }
    if (err instanceof BangerError) throw err;
    throw new BangerError(
      ErrorCode.Config,
      `catalog ${source}: cannot load: ${errorMessage(err)}`,
      {
        hint: `check that ${source} is reachable, or remove it from [catalog] in config.toml`,
        cause: err,
      },
    );
  }
  return parseCatalog(text, source);
}

async function readSource(source: string, options: LoadCatalogOptions): Promise<string> {
  if (!/^https?:\/\//i.test(source)) {
    const path = /^file:/i.test(source) ? fileURLToPath(source) : source;
    return readCapped(createReadStream(path));
  }
  const timeoutMs = options.fetchTimeoutMs ?? DEFAULT_CATALOG_TIMEOUT_MS;
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  try {
    const res = await request(source, { signal, dispatcher: httpDispatcher() });
    if (res.statusCode !== 200) {
      discard(res.body);
      throw new Error(`HTTP status ${res.statusCode}`);
    }
    const declared = Number(res.headers['content-length']);
    if (declared > MAX_CATALOG_BYTES) {
      discard(res.body);
      throw new Error(
        `${declared} bytes is larger than the ${formatSize(MAX_CATALOG_BYTES)} limit`,
      );
    }
    return await readCapped(res.body);
  } catch (err) {
    if (timeout.aborted && !options.signal?.aborted) {
      throw new Error(`timed out after ${timeoutMs} ms`, { cause: err });
    }
    throw err;
  }
}

async function readCapped(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    total += chunk.length;
    // Leaving the loop by a throw destroys the stream.
    if (total > MAX_CATALOG_BYTES) {
      throw new Error(`larger than the ${formatSize(MAX_CATALOG_BYTES)} limit`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
