import type { Socket } from 'node:net';
import { StreamMessageReader, type Message } from 'vscode-jsonrpc/node';

// What one client may send bangerd before its connection is dropped: a message of at most
// MAX_MESSAGE_BYTES (counted as it arrives, so a Content-Length of a gigabyte is not
// buffered), nested at most MAX_DEPTH deep (checked on the bytes before JSON.parse: a
// hundred thousand nested arrays cost the parser and the validators memory for nothing).
// No banger request comes near either.

export const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
export const MAX_DEPTH = 64;

/** How deep the JSON text nests (arrays and objects, strings skipped), stopping past `limit`. */
export function jsonDepth(text: Uint8Array, limit = MAX_DEPTH): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped byte
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      depth++;
      if (depth > max) max = depth;
      if (max > limit) return max;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return max;
}

/** The message reader of one client connection, with the limits above; `drop` ends it. */
export function limitedReader(socket: Socket, drop: (why: string) => void): StreamMessageReader {
  let pending = 0;
  socket.on('data', (chunk: Buffer) => {
    pending += chunk.length;
    if (pending > MAX_MESSAGE_BYTES + 1024) drop(`a message over ${MAX_MESSAGE_BYTES} bytes`);
  });
  const reader = new StreamMessageReader(socket, {
    charset: 'utf-8',
    contentTypeDecoder: {
      name: 'application/json',
      decode: (buffer, options) => {
        pending = 0; // a whole message arrived; what comes next starts the count again
        if (jsonDepth(buffer) > MAX_DEPTH)
          return Promise.reject(new Error(`a message nested deeper than ${MAX_DEPTH}`));
        return Promise.resolve(
          JSON.parse(new TextDecoder(options.charset).decode(buffer)) as Message,
        );
      },
    },
  });
  // vscode-jsonrpc re-arms a 10 s "partial message" timer for as long as a message stays
  // incomplete — also after the socket closed — and the timer holds the reader, the socket
  // and what it buffered: a client that hangs up mid-message leaked them for good.
  reader.partialMessageTimeout = 0;
  return reader;
}
