import { open } from 'node:fs/promises';

/**
 * Prints a log file, and with `follow` keeps printing what is appended until interrupted.
 * A file that shrinks was started afresh (the VM rebooted): printing restarts at its top.
 */
export async function printLog(path: string, follow: boolean): Promise<void> {
  let offset = 0;
  for (;;) {
    const file = await open(path, 'r').catch(() => undefined);
    if (file) {
      try {
        const { size } = await file.stat();
        if (size < offset) offset = 0;
        while (offset < size) {
          const buf = Buffer.alloc(Math.min(1 << 20, size - offset));
          const { bytesRead } = await file.read(buf, 0, buf.length, offset);
          if (bytesRead === 0) break;
          offset += bytesRead;
          await write(buf.subarray(0, bytesRead));
        }
      } finally {
        await file.close();
      }
    }
    if (!follow) return;
    await new Promise((r) => setTimeout(r, 250));
  }
}

function write(chunk: Buffer): Promise<void> {
  return new Promise((resolve, reject) =>
    process.stdout.write(chunk, (err) => (err ? reject(err) : resolve())),
  );
}
