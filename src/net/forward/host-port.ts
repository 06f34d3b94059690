import { createServer } from 'node:net';
import { freeLoopbackPort } from '../../system/ports.js';

/** Whether something could listen on 127.0.0.1:port right now (nothing holds it). */
export function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () =>
      server.close(() => resolve(true)),
    );
  });
}

/** A free port on 127.0.0.1 that is not in `avoid` (ports recorded for VMs not running). */
export async function freeHostPort(avoid: ReadonlySet<number>): Promise<number> {
  for (;;) {
    const port = await freeLoopbackPort();
    if (!avoid.has(port)) return port;
  }
}
