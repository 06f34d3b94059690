// Registry credentials where docker and podman keep them: $REGISTRY_AUTH_FILE (podman's
// override) first, then ~/.docker/config.json. Both hold `auths: { host: { auth } }`.
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { BangerError, ErrorCode, errorMessage } from '../../errors.js';
import { DOCKER_HUB } from './reference.js';

export interface Credentials {
  username: string;
  password: string;
  /** The file they came from and the key under `auths`, for messages. */
  file: string;
  key: string;
}

export interface CredentialLookup {
  credentials: Credentials | undefined;
  /** Every file looked in, existing or not, in order. */
  searched: string[];
  /** A file that names a credential helper (credsStore/credHelpers), which banger does not run. */
  helperIn: string | undefined;
}

export interface CredentialSources {
  env?: NodeJS.ProcessEnv;
  /** Defaults to os.homedir() (which honours $HOME). */
  home?: string;
}

export function credentialFiles(sources: CredentialSources = {}): string[] {
  const env = sources.env ?? process.env;
  const home = sources.home ?? env.HOME ?? homedir();
  const files: string[] = [];
  if (env.REGISTRY_AUTH_FILE) files.push(env.REGISTRY_AUTH_FILE);
  files.push(join(home, '.docker', 'config.json'));
  return files;
}

/** `https://index.docker.io/v1/`, `docker.io`, `http://host:5000/v2/` → a comparable host key. */
export function normalizeAuthKey(key: string): string {
  const host = key
    .trim()
    .replace(/^[a-z][a-z0-9+.-]*:\/\//i, '')
    .replace(/\/.*$/, '')
    .toLowerCase();
  return host === 'docker.io' || host === 'index.docker.io' ? DOCKER_HUB : host;
}

/** The entry for `registry` in one parsed config file, or undefined. Throws on a malformed entry. */
export function credentialsIn(
  config: unknown,
  registry: string,
  file: string,
): Credentials | undefined {
  if (typeof config !== 'object' || config === null) return undefined;
  const auths = (config as { auths?: unknown }).auths;
  if (typeof auths !== 'object' || auths === null) return undefined;
  const want = normalizeAuthKey(registry);
  for (const [key, entry] of Object.entries(auths as Record<string, unknown>)) {
    if (normalizeAuthKey(key) !== want || typeof entry !== 'object' || entry === null) continue;
    const { auth, username, password } = entry as Record<string, unknown>;
    if (typeof auth === 'string' && auth !== '') {
      const decoded = Buffer.from(auth, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon <= 0) {
        throw new BangerError(
          ErrorCode.Config,
          `${file}: auths[${JSON.stringify(key)}].auth is not base64 of "user:password"; log in again (docker login ${registry}) or fix the entry`,
        );
      }
      return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1), file, key };
    }
    if (typeof username === 'string' && typeof password === 'string' && username !== '') {
      return { username, password, file, key };
    }
  }
  return undefined;
}

export async function lookupCredentials(
  registry: string,
  sources: CredentialSources = {},
): Promise<CredentialLookup> {
  const searched = credentialFiles(sources);
  let helperIn: string | undefined;
  for (const file of searched) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw new BangerError(ErrorCode.Config, `cannot read ${file}: ${errorMessage(err)}`, {
        cause: err,
      });
    }
    let config: unknown;
    try {
      config = JSON.parse(text);
    } catch (err) {
      throw new BangerError(
        ErrorCode.Config,
        `${file} is not valid JSON (${errorMessage(err)}); fix it or move it aside`,
        { cause: err },
      );
    }
    const found = credentialsIn(config, registry, file);
    if (found) return { credentials: found, searched, helperIn };
    const c = config as { credsStore?: unknown; credHelpers?: unknown };
    if (helperIn === undefined && (c?.credsStore || c?.credHelpers)) helperIn = file;
  }
  return { credentials: undefined, searched, helperIn };
}

/** "credentials for HOST from FILE" or "no credentials (none for HOST in A or B)". */
export function describeTried(lookup: CredentialLookup, registry: string): string {
  if (lookup.credentials) {
    const { username, file, key } = lookup.credentials;
    return `the credentials of user ${JSON.stringify(username)} from ${file} (auths[${JSON.stringify(key)}])`;
  }
  const helper = lookup.helperIn
    ? `; ${lookup.helperIn} names a credential helper, which banger does not run`
    : '';
  return `no credentials (none for ${registry} in ${lookup.searched.join(' or ')}${helper})`;
}

export function basicHeader(c: Pick<Credentials, 'username' | 'password'>): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
}
