import { createSocket, type Socket } from 'node:dgram';
import { connect } from 'node:net';
import dnsPacket, { type DecodedPacket, type Packet, type RecordType } from 'dns-packet';
import { FrameReader, frame } from '../../src/net/dns/tcp-framing.js';

/** A query as a resolver sends it: one question, recursion desired. */
export function queryPacket(name: string, type: RecordType = 'A', extra: Packet = {}): Buffer {
  return dnsPacket.encode({
    type: 'query',
    id: Math.floor(Math.random() * 65536),
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type, name, class: 'IN' }],
    ...extra,
  });
}

/** Sends `packet` to 127.0.0.1:port over UDP and resolves with the first datagram back. */
export function udpExchange(port: number, packet: Buffer, timeoutMs = 2000): Promise<Buffer> {
  const socket = createSocket('udp4');
  return new Promise<Buffer>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer on udp ${port}`)), timeoutMs);
    socket.on('error', reject);
    socket.on('message', (msg) => {
      clearTimeout(timer);
      resolve(msg);
    });
    socket.send(packet, port, '127.0.0.1');
  }).finally(() => socket.close());
}

/** Sends `packet` (framed) over TCP to 127.0.0.1:port and resolves with the first message. */
export function tcpExchange(port: number, packet: Buffer, timeoutMs = 2000): Promise<Buffer> {
  const socket = connect({ host: '127.0.0.1', port });
  const reader = new FrameReader();
  return new Promise<Buffer>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer on tcp ${port}`)), timeoutMs);
    socket.on('error', reject);
    socket.on('connect', () => socket.write(frame(packet)));
    socket.on('data', (chunk: Buffer) => {
      const [msg] = reader.push(chunk);
      if (msg) {
        clearTimeout(timer);
        resolve(msg);
      }
    });
  }).finally(() => socket.destroy());
}

/** A decoded response, its answers loosely typed for assertions (A and PTR carry strings). */
export type Response = Omit<DecodedPacket, 'answers'> & {
  rcode: string;
  answers: { name: string; type: string; ttl?: number; data?: unknown }[];
};

export function decodeResponse(raw: Buffer): Response {
  return dnsPacket.decode(raw) as unknown as Response;
}

/** One question to the responder at 127.0.0.1:port, decoded; the answer's id is checked. */
export async function ask(
  port: number,
  name: string,
  type: RecordType = 'A',
  transport: 'udp' | 'tcp' = 'udp',
): Promise<Response> {
  const packet = queryPacket(name, type);
  const raw = await (transport === 'udp' ? udpExchange : tcpExchange)(port, packet);
  const answer = decodeResponse(raw);
  if (answer.id !== packet.readUInt16BE(0)) throw new Error('answer with another id');
  return answer;
}

/** A UDP socket on 127.0.0.1 that calls `onQuery` for every datagram (a fake upstream). */
export async function fakeUpstream(
  onQuery: (msg: Buffer, reply: (answer: Buffer) => void) => void,
): Promise<{ port: number; socket: Socket; close: () => Promise<void> }> {
  const socket = createSocket('udp4');
  socket.on('message', (msg, rinfo) =>
    onQuery(msg, (answer) => socket.send(answer, rinfo.port, rinfo.address)),
  );
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return {
    port: socket.address().port,
    socket,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
