// What a registry wants in Authorization: nothing, Basic credentials, or a bearer token from the
// realm its 401 names (anonymous, or bought with Basic credentials), cached per scope.
import { request, type Dispatcher } from 'undici';
import { errorMessage } from '../../errors.js';
import {
  basicHeader,
  lookupCredentials,
  type CredentialLookup,
  type CredentialSources,
} from './credentials.js';
import { isLoopbackHost } from './reference.js';
import { parseWwwAuthenticate, type Challenge } from './www-authenticate.js';

/** The registry (or its token service) refused us; registry.ts turns this into the user's message. */
export class AuthRefused extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

interface Token {
  header: string;
  expiresAt: number;
}

const TOKEN_BYTES_MAX = 1024 * 1024;

export function pullScope(repository: string): string {
  return `repository:${repository}:pull`;
}

export class RegistryAuth {
  private challenge: Challenge | undefined;
  private lookupOnce: Promise<CredentialLookup> | undefined;
  private readonly tokens = new Map<string, Token>();

  constructor(
    readonly registry: string,
    private readonly dispatcher: Dispatcher,
    private readonly sources: CredentialSources = {},
  ) {}

  /** Where credentials were looked for and what was found (read once per client). */
  credentials(): Promise<CredentialLookup> {
    this.lookupOnce ??= lookupCredentials(this.registry, this.sources);
    return this.lookupOnce;
  }

  /** The Authorization header for a request on `repository`, once a challenge said what it takes. */
  async headerFor(repository: string, signal?: AbortSignal): Promise<string | undefined> {
    const c = this.challenge;
    if (c === undefined || c.scheme === 'other') return undefined;
    if (c.scheme === 'basic') {
      const { credentials } = await this.credentials();
      return credentials ? basicHeader(credentials) : undefined;
    }
    const scope = pullScope(repository);
    const cached = this.tokens.get(scope);
    if (cached && cached.expiresAt > Date.now()) return cached.header;
    const token = await this.fetchToken(c, scope, signal);
    this.tokens.set(scope, token);
    return token.header;
  }

  /**
   * A 401 arrived for a request that sent `sent`. Learns the challenge and says whether a retry
   * would send something new (a first token, fresh credentials); false means give up.
   */
  async unauthorized(
    repository: string,
    wwwAuthenticate: string | string[] | undefined,
    sent: string | undefined,
    signal?: AbortSignal,
  ): Promise<boolean> {
    const challenges = parseWwwAuthenticate(wwwAuthenticate);
    const next =
      challenges.find((c) => c.scheme === 'bearer') ?? challenges.find((c) => c.scheme === 'basic');
    if (next === undefined) return false;
    this.challenge = next;
    // A token the registry no longer accepts (expired early, revoked) is bought again once.
    this.tokens.delete(pullScope(repository));
    const header = await this.headerFor(repository, signal);
    return header !== undefined && header !== sent;
  }

  private async fetchToken(
    c: Extract<Challenge, { scheme: 'bearer' }>,
    scope: string,
    signal: AbortSignal | undefined,
  ): Promise<Token> {
    let url: URL;
    try {
      url = new URL(c.realm);
    } catch {
      throw new AuthRefused(0, `its token realm ${JSON.stringify(c.realm)} is not a URL`);
    }
    if (c.service !== undefined) url.searchParams.set('service', c.service);
    url.searchParams.append('scope', scope);
    const { credentials } = await this.credentials();
    // Credentials travel only over TLS, to the registry's own host, or to this machine.
    const safe =
      url.protocol === 'https:' || url.host === this.registry || isLoopbackHost(url.host);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (credentials && safe) headers.authorization = basicHeader(credentials);
    const res = await request(url, { headers, signal, dispatcher: this.dispatcher });
    const text = await readLimited(res.body, TOKEN_BYTES_MAX);
    if (res.statusCode === 401 || res.statusCode === 403) {
      throw new AuthRefused(
        res.statusCode,
        `its token service ${url.origin} answered ${res.statusCode}`,
      );
    }
    if (res.statusCode !== 200) {
      throw new AuthRefused(0, `its token service ${url.origin} answered HTTP ${res.statusCode}`);
    }
    let body: { token?: unknown; access_token?: unknown; expires_in?: unknown };
    try {
      body = JSON.parse(text) as typeof body;
    } catch (err) {
      throw new AuthRefused(
        0,
        `its token service ${url.origin} sent no JSON (${errorMessage(err)})`,
      );
    }
    const token = typeof body.token === 'string' ? body.token : body.access_token;
    if (typeof token !== 'string' || token === '') {
      throw new AuthRefused(0, `its token service ${url.origin} sent no token`);
    }
    const seconds =
      typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : 60;
    return { header: `Bearer ${token}`, expiresAt: Date.now() + Math.max(1, seconds - 10) * 1000 };
  }
}

/** Reads a small body as text, refusing one past `max` bytes. */
export async function readLimited(body: AsyncIterable<unknown>, max: number): Promise<string> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body) {
    const b = chunk as Buffer;
    total += b.length;
    if (total > max) throw new Error(`response over ${max} bytes`);
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString('utf8');
}
