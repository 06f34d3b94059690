// A Docker registry token service for tests (the protocol Docker Hub and most registries
// use): GET /token?service=…&scope=… answers a JWT signed with a key whose self-signed
// certificate the registry trusts (`auth.token.rootcertbundle`), the certificate in `x5c`.
import { createPrivateKey, randomUUID, sign, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { join } from 'node:path';
import { execa } from 'execa';

export interface TokenServer {
  /** http://127.0.0.1:<port>/token */
  realm: string;
  service: string;
  issuer: string;
  /** The certificate the registry must trust. */
  certFile: string;
  /** Every token request: its scope, service and the basic-auth user (or ''). */
  requests: { scope: string; service: string; user: string }[];
  close(): Promise<void>;
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

/** Starts on 127.0.0.1; with `users`, a token needs a matching basic login. */
export async function startTokenServer(
  dir: string,
  options: { users?: Record<string, string> } = {},
): Promise<TokenServer> {
  const keyFile = join(dir, 'token-key.pem');
  const certFile = join(dir, 'token-cert.pem');
  await execa('openssl', [
    ...['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1'],
    ...['-subj', '/CN=banger-test-token', '-keyout', keyFile, '-out', certFile],
  ]);
  const key = createPrivateKey(await readFile(keyFile));
  const cert = new X509Certificate(await readFile(certFile));
  const service = 'banger-test-registry';
  const issuer = 'banger-test-issuer';
  const requests: TokenServer['requests'] = [];

  const userOf = (req: IncomingMessage): string | undefined => {
    const auth = req.headers.authorization ?? '';
    if (!auth.startsWith('Basic ')) return '';
    const [user = '', ...rest] = Buffer.from(auth.slice(6), 'base64').toString().split(':');
    // Without a user list any login is taken (the pushes log in); with one, it must match.
    if (!options.users) return user;
    return options.users[user] === rest.join(':') ? user : undefined;
  };

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const scope = url.searchParams.get('scope') ?? '';
    const user = userOf(req);
    requests.push({ scope, service: url.searchParams.get('service') ?? '', user: user ?? '?' });
    if (url.pathname !== '/token' || user === undefined || (options.users && user === '')) {
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"details":"denied"}');
      return;
    }
    // scope: repository:<name>:<actions>; everyone may pull and push what they ask for.
    const [type = '', name = '', actions = ''] = scope.split(':');
    const now = Math.floor(Date.now() / 1000);
    const header = { typ: 'JWT', alg: 'RS256', x5c: [cert.raw.toString('base64')] };
    const claims = {
      iss: issuer,
      sub: user,
      aud: service,
      exp: now + 300,
      nbf: now - 10,
      iat: now,
      jti: randomUUID(),
      access: scope ? [{ type, name, actions: actions.split(',') }] : [],
    };
    const body = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const token = `${body}.${b64url(sign('sha256', Buffer.from(body), key))}`;
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ token, expires_in: 300 }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    realm: `http://127.0.0.1:${port}/token`,
    service,
    issuer,
    certFile,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
