// One GET against a registry: the Authorization its challenges ask for, a bounded wait on 429
// (and a brief one on 502-504), and each failure turned into one line naming the reference
// and the fix.
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { request, type Dispatcher } from 'undici';
import { BangerError, ErrorCode, errorMessage } from '../../errors.js';
import { AuthRefused, readLimited, type RegistryAuth } from './auth.js';
import { describeTried } from './credentials.js';
import { DOCKER_HUB, formatReference, type OciReference } from './reference.js';

export interface RetryPolicy {
  /** How many times a 429/502/503/504 is retried before it is reported. */
  retries: number;
  /** The longest single wait, whatever Retry-After asks for. */
  maxWaitMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { retries: 2, maxWaitMs: 20_000 };

/** docker.io/library/alpine:latest: how a reference is named in messages. */
export function displayReference(ref: OciReference): string {
  const s = formatReference(ref);
  return ref.registry === DOCKER_HUB ? `docker.io${s.slice(DOCKER_HUB.length)}` : s;
}

export function cancelled(ref: OciReference, cause?: unknown): BangerError {
  return new BangerError(ErrorCode.Cancelled, `pull of ${displayReference(ref)} was cancelled`, {
    cause,
  });
}

const NETWORK_CODES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'no such host',
  EAI_AGAIN: 'DNS lookup failed',
  ECONNRESET: 'connection reset',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
  UND_ERR_SOCKET: 'connection dropped',
  UND_ERR_HEADERS_TIMEOUT: 'no answer in time',
  UND_ERR_BODY_TIMEOUT: 'the transfer stalled',
};

function errorCodes(err: unknown): string[] {
  const codes: string[] = [];
  for (let e = err as { code?: unknown; cause?: unknown } | undefined, i = 0; e && i < 5; i++) {
    if (typeof e.code === 'string') codes.push(e.code);
    e = e.cause as typeof e;
  }
  return codes;
}

/** A failure to talk to the registry at all, or undefined when `err` is something else. */
export function networkError(ref: OciReference, err: unknown): BangerError | undefined {
  const codes = errorCodes(err);
  const known = codes.map((c) => NETWORK_CODES[c]).find((w) => w !== undefined);
  const tls =
    codes.find((c) => /CERT|SSL|TLS|EPROTO/.test(c)) ??
    (/certificate|ssl|tls/i.test(errorMessage(err)) ? 'TLS' : undefined);
  const who = `registry ${ref.registry} of ${displayReference(ref)}`;
  if (tls !== undefined) {
    return new BangerError(
      ErrorCode.Config,
      `${who} failed the TLS handshake (${errorMessage(err)}); if it serves plain HTTP, list ${ref.registry} as an insecure registry in config.toml`,
      { cause: err },
    );
  }
  if (known === undefined) return undefined;
  return new BangerError(
    ErrorCode.Config,
    `${who} is unreachable (${known}); check the registry name and this host's network, then retry`,
    { cause: err },
  );
}

/** The first `errors[].code` of a registry error body (NAME_UNKNOWN, MANIFEST_UNKNOWN, …). */
export function registryErrorCode(body: string): string | undefined {
  try {
    const json = JSON.parse(body) as { errors?: { code?: unknown }[] };
    const code = json.errors?.[0]?.code;
    return typeof code === 'string' ? code : undefined;
  } catch {
    return undefined;
  }
}

function retryAfterMs(header: string | string[] | undefined, fallbackMs: number): number {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined) return fallbackMs;
  if (/^\s*\d+\s*$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? fallbackMs : Math.max(0, at - Date.now());
}

export function discard(body: Readable): void {
  body.on('error', () => undefined);
  body.destroy();
}

export interface RegistryGet {
  ref: OciReference;
  auth: RegistryAuth;
  dispatcher: Dispatcher;
  baseUrl: string;
  retry: RetryPolicy;
  path: string;
  headers: Record<string, string>;
  signal: AbortSignal | undefined;
}

/**
 * GETs `path` and returns any response other than 401/403/429/5xx-retried; the caller reads or
 * discards its body. Throws the user-facing error for network, auth and rate-limit failures.
 */
export async function registryGet(g: RegistryGet): Promise<Dispatcher.ResponseData> {
  const { ref, auth, signal } = g;
  let authRetried = false;
  let retries = 0;
  for (;;) {
    if (signal?.aborted) throw cancelled(ref, signal.reason);
    let res: Dispatcher.ResponseData;
    let sent: string | undefined;
    try {
      sent = await auth.headerFor(ref.repository, signal);
      const headers = { ...g.headers, ...(sent ? { authorization: sent } : {}) };
      res = await request(`${g.baseUrl}${g.path}`, { headers, signal, dispatcher: g.dispatcher });
    } catch (err) {
      throw await requestFailure(g, err);
    }
    const status = res.statusCode;
    if (status === 401 && !authRetried) {
      discard(res.body);
      authRetried = true;
      let retry: boolean;
      try {
        retry = await auth.unauthorized(
          ref.repository,
          res.headers['www-authenticate'],
          sent,
          signal,
        );
      } catch (err) {
        throw await requestFailure(g, err);
      }
      if (retry) continue;
      throw await refused(g, 401);
    }
    if (status === 401 || status === 403) {
      discard(res.body);
      throw await refused(g, status);
    }
    const transient = status === 429 || status === 502 || status === 503 || status === 504;
    if (transient && retries < g.retry.retries) {
      discard(res.body);
      retries++;
      const wait = Math.min(
        g.retry.maxWaitMs,
        retryAfterMs(res.headers['retry-after'], 1000 * retries),
      );
      try {
        await sleep(wait, undefined, { signal });
      } catch (err) {
        throw cancelled(ref, err);
      }
      continue;
    }
    if (status === 429) {
      discard(res.body);
      throw new BangerError(
        ErrorCode.Conflict,
        `registry ${ref.registry} is rate-limiting pulls of ${displayReference(ref)} (HTTP 429, still after ${retries} ${retries === 1 ? 'retry' : 'retries'} honouring Retry-After); wait a while and retry, or log in to it for a higher limit`,
      );
    }
    return res;
  }
}

async function requestFailure(g: RegistryGet, err: unknown): Promise<BangerError> {
  if (g.signal?.aborted) return cancelled(g.ref, err);
  if (err instanceof BangerError) return err;
  if (err instanceof AuthRefused) {
    return err.status === 0
      ? new BangerError(
          ErrorCode.Config,
          `registry ${g.ref.registry} of ${displayReference(g.ref)} asks for a token but ${err.message}; retry later, or report it to the registry's owner`,
        )
      : refused(g, err.status, err.message);
  }
  return (
    networkError(g.ref, err) ??
    new BangerError(
      ErrorCode.Config,
      `registry ${g.ref.registry} of ${displayReference(g.ref)} failed: ${errorMessage(err)}; retry, or check the registry name`,
      { cause: err },
    )
  );
}

async function refused(g: RegistryGet, status: number, detail?: string): Promise<BangerError> {
  const lookup = await g.auth.credentials().catch(() => undefined);
  const tried = lookup ? describeTried(lookup, g.ref.registry) : 'no credentials';
  const where = lookup?.searched.join(' or ') ?? '~/.docker/config.json';
  const fix = lookup?.credentials
    ? `check that user and password (docker login ${g.ref.registry} rewrites them)`
    : `put credentials for ${g.ref.registry} in ${where} (docker login ${g.ref.registry} writes them; REGISTRY_AUTH_FILE names another file)`;
  return new BangerError(
    ErrorCode.Permission,
    `registry ${g.ref.registry} refused ${displayReference(g.ref)} (HTTP ${status}${detail ? `: ${detail}` : ''}) with ${tried}; the repository may not exist, or it needs credentials: ${fix}`,
  );
}

export async function readBody(res: Dispatcher.ResponseData, max: number): Promise<string> {
  return readLimited(res.body, max);
}
