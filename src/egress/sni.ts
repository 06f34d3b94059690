// The server name a TLS ClientHello asks for (RFC 8446 §4.1.2, RFC 6066 §3), read from the
// first bytes a client sends through a CONNECT tunnel: the proxy checks it against the
// name the tunnel was allowed for, so a guest cannot open a tunnel to an allowed host and
// then ask a CDN in front of it for another site (domain fronting by SNI).

export type ClientHello =
  | { kind: 'tls'; serverName: string | undefined }
  /** Not a TLS handshake (plain text through the tunnel). */
  | { kind: 'other' }
  /** A TLS record that is not whole yet: read more. */
  | { kind: 'partial' };

/** A ClientHello fits in one record in practice; more than this is not waited for. */
export const CLIENT_HELLO_MAX = 16 * 1024 + 5;

export function readClientHello(data: Buffer): ClientHello {
  if (data.length === 0) return { kind: 'partial' };
  if (data[0] !== 0x16) return { kind: 'other' };
  if (data.length < 5) return { kind: 'partial' };
  const recordLength = data.readUInt16BE(3);
  if (data.length < 5 + recordLength) return { kind: 'partial' };
  const hello = data.subarray(5, 5 + recordLength);
  // handshake type 1 (ClientHello), 3-byte length, version (2), random (32)
  if (hello[0] !== 0x01) return { kind: 'tls', serverName: undefined };
  let at = 4 + 2 + 32;
  const need = (n: number) => at + n <= hello.length;
  if (!need(1)) return { kind: 'tls', serverName: undefined };
  at += 1 + hello[at]!; // session id
  if (!need(2)) return { kind: 'tls', serverName: undefined };
  at += 2 + hello.readUInt16BE(at); // cipher suites
  if (!need(1)) return { kind: 'tls', serverName: undefined };
  at += 1 + hello[at]!; // compression methods
  if (!need(2)) return { kind: 'tls', serverName: undefined };
  const end = Math.min(hello.length, at + 2 + hello.readUInt16BE(at));
  at += 2;
  while (at + 4 <= end) {
    const type = hello.readUInt16BE(at);
    const length = hello.readUInt16BE(at + 2);
    at += 4;
    if (type === 0 && at + length <= end)
      return { kind: 'tls', serverName: hostName(hello.subarray(at, at + length)) };
    at += length;
  }
  return { kind: 'tls', serverName: undefined };
}

/** server_name extension: a list of (type, name); type 0 is a host name. */
function hostName(ext: Buffer): string | undefined {
  let at = 2;
  while (at + 3 <= ext.length) {
    const type = ext[at]!;
    const length = ext.readUInt16BE(at + 1);
    at += 3;
    if (at + length > ext.length) return undefined;
    if (type === 0) return ext.subarray(at, at + length).toString('latin1');
    at += length;
  }
  return undefined;
}
