import { createSocket } from 'node:dgram';
import { connect, isIPv6 } from 'node:net';
import { FrameReader, frame } from './tcp-framing.js';
import type { Upstream } from './upstream.js';

// Relaying a query to the upstream resolver as it came, and its answer back as it came: the
// responder never re-encodes what it did not make. Each query gets its own socket, so its
// source port is random (as a resolver's should be) and answers cannot cross between
// clients whose queries share an id.

export type Transport = 'udp' | 'tcp';

export interface ForwardOptions {
  timeoutMs: number;
  signal: AbortSignal;
}

export function forward(
  transport: Transport,
  query: Buffer,
  upstream: Upstream,
  opts: ForwardOptions,
): Promise<Buffer> {
  return transport === 'udp'
    ? forwardUdp(query, upstream, opts)
    : forwardTcp(query, upstream, opts);
}

function forwardUdp(query: Buffer, upstream: Upstream, opts: ForwardOptions): Promise<Buffer> {
  const socket = createSocket(isIPv6(upstream.host.split('%')[0] ?? '') ? 'udp6' : 'udp4');
  const id = query.readUInt16BE(0);
  return settle(
    opts,
    upstream,
    'udp',
    () => socket.close(),
    (resolve, reject) => {
      socket.on('error', reject); // ECONNREFUSED: the upstream's port is closed
      socket.on('message', (answer) => {
        // The socket is connected, so only the upstream's address reaches it; the id says the
        // datagram answers this query.
        if (answer.length >= 12 && answer.readUInt16BE(0) === id) resolve(answer);
      });
      socket.connect(upstream.port, upstream.host, () => socket.send(query));
    },
  );
}

function forwardTcp(query: Buffer, upstream: Upstream, opts: ForwardOptions): Promise<Buffer> {
  const socket = connect({ host: upstream.host, port: upstream.port });
  const reader = new FrameReader();
  return settle(
    opts,
    upstream,
    'tcp',
    () => socket.destroy(),
    (resolve, reject) => {
      socket.on('error', reject);
      socket.on('close', () => reject(new Error('the upstream closed the connection')));
      socket.on('connect', () => socket.write(frame(query)));
      socket.on('data', (chunk: Buffer) => {
        const [answer] = reader.push(chunk);
        if (answer) resolve(answer);
      });
    },
  );
}

/** Runs `start` until it resolves or rejects, the timeout passes or the signal aborts; then `cleanup`. */
function settle(
  opts: ForwardOptions,
  upstream: Upstream,
  transport: Transport,
  cleanup: () => void,
  start: (resolve: (b: Buffer) => void, reject: (e: unknown) => void) => void,
): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    let done = false;
    const finish = (fn: () => void) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      opts.signal.removeEventListener('abort', onAbort);
      try {
        cleanup();
      } catch {
        // already closed
      }
      fn();
    };
    const onAbort = () => finish(() => reject(new Error('the responder closed')));
    const timer = setTimeout(
      () =>
        finish(() =>
          reject(
            new Error(
              `upstream ${upstream.host}:${upstream.port} (${transport}) did not answer within ${opts.timeoutMs} ms`,
            ),
          ),
        ),
      opts.timeoutMs,
    );
    if (opts.signal.aborted) return onAbort();
    opts.signal.addEventListener('abort', onAbort);
    try {
      start(
        (answer) => finish(() => resolve(answer)),
        (err) => finish(() => reject(err instanceof Error ? err : new Error(String(err)))),
      );
    } catch (err) {
      finish(() => reject(err instanceof Error ? err : new Error(String(err))));
    }
  });
}
