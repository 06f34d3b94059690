import { Readable } from 'node:stream';
import tar, { type Header } from 'tar-stream';

export type TarMember = Partial<Header> & { name: string; body?: string | Buffer };

/** A tar made the way mmdebstrap and docker export make them (root-owned by default). */
export async function tarBytes(members: TarMember[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (chunk) => chunks.push(chunk as Buffer));
  const ended = new Promise<void>((resolve) => pack.on('end', () => resolve()));
  for (const { body, ...header } of members) pack.entry({ uid: 0, gid: 0, ...header }, body ?? '');
  pack.finalize();
  await ended;
  return Buffer.concat(chunks);
}

/** tarBytes as a stream. */
export async function tarOf(members: TarMember[]): Promise<Readable> {
  return Readable.from([await tarBytes(members)]);
}
