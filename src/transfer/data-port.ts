import { createConnection, type Socket } from 'node:net';
import { BangerError, ErrorCode, SubprocessError } from '../errors.js';
import { DATA_PORT_NAME } from '../vmm/vmm.js';

// The VM's data port (a virtio-serial port whose host end is a Unix socket, qemu/args.ts):
// bulk copies ride it instead of ssh. It is a bare byte stream, so each copy is framed:
// `banger-data:<token>`, the payload, `banger-done:<token>` — the header proves the bytes
// are this copy's, the trailer that none went missing. Until QEMU has accepted the host's
// connection the guest's end reads as end-of-file, hence its retries; and QEMU drops what is
// still in flight when the host end closes, so the host keeps it open until the guest's
// script exits. Shared by the workspace import and `vm cp`.

/** The guest exits with this when it has no data port: the host copies over ssh instead. */
export const NO_DATA_PORT_EXIT = 10;
/** The guest exits with this when the framing is wrong (another copy's bytes, a cut). */
export const FRAME_EXIT = 12;
export const FRAME_LENGTH = 'banger-data:'.length + 32;

/** Guest shell: sets $port to the data port's device, or exits NO_DATA_PORT_EXIT. */
export const FIND_PORT = `port=
find_port() {
  for p in /sys/class/virtio-ports/*; do
    if [ "$(cat "$p/name" 2>/dev/null)" = ${DATA_PORT_NAME} ] && [ -c "/dev/\${p##*/}" ]; then
      port="/dev/\${p##*/}"
      return 0
    fi
  done
  return 1
}
if ! find_port; then
  modprobe -q virtio_console 2>/dev/null || exit ${NO_DATA_PORT_EXIT}
  i=0
  until find_port; do
    i=$((i + 1)); [ $i -le 50 ] || exit ${NO_DATA_PORT_EXIT}
    sleep 0.1
  done
fi`;

/**
 * Guest shell, after FIND_PORT: reads the host's header for `token` (an expression such as
 * "$3") from stdin, which is the port; exits FRAME_EXIT when it never comes or is another's.
 */
export function awaitHeader(token: string): string {
  return `i=0
  until hdr=$(head -c ${FRAME_LENGTH}) && [ -n "$hdr" ]; do
    i=$((i + 1)); [ $i -le 200 ] || { echo "the host end of the data port never connected" >&2; exit ${FRAME_EXIT}; }
    sleep 0.05
  done
  [ "$hdr" = "banger-data:${token}" ] || { echo "the data port carried bytes of another copy" >&2; exit ${FRAME_EXIT}; }`;
}

/** Guest shell: reads the host's trailer for `token`; exits FRAME_EXIT when it is not there. */
export function awaitTrailer(token: string): string {
  return `[ "$(head -c ${FRAME_LENGTH})" = "banger-done:${token}" ] || { echo "the data port stream ended early" >&2; exit ${FRAME_EXIT}; }`;
}

/** A connection to the VM's data port, or undefined when nothing listens there. */
export function connectDataPort(path: string): Promise<Socket | undefined> {
  return new Promise((resolve) => {
    const socket = createConnection(path);
    socket.once('connect', () => {
      socket.removeAllListeners('error');
      // Write errors reach writeTo's callbacks; this keeps them from being "unhandled".
      socket.on('error', () => undefined);
      resolve(socket);
    });
    socket.once('error', () => {
      socket.destroy();
      resolve(undefined);
    });
  });
}

/** One write, resolved once the kernel has the bytes: backpressure without 'drain'. */
export function writeTo(socket: Socket, chunk: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    if (socket.destroyed) reject(new Error('the data port closed'));
    else socket.write(chunk, (err) => (err ? reject(err) : resolve()));
  });
}

/** Whether a guest script said it has no data port (the copy falls back to ssh). */
export function noDataPort(result: PromiseSettledResult<unknown>): boolean {
  return (
    result.status === 'rejected' &&
    result.reason instanceof SubprocessError &&
    result.reason.exitCode === NO_DATA_PORT_EXIT
  );
}

/** A failed ssh/tar step, said in a line: the step and what the guest's stderr said. */
export function guestStepFailed(step: string, err: unknown): unknown {
  if (!(err instanceof SubprocessError)) return err;
  return new BangerError(
    ErrorCode.Subprocess,
    `${step} failed: ${err.stderrTail || `exit ${err.exitCode}`}`,
    { cause: err },
  );
}
