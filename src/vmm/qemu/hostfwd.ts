import { BangerError, ErrorCode } from '../../errors.js';
import type { HostForward, HostForwarding, VmHandles } from '../vmm.js';
import { QmpClient } from './qmp.js';

/** The user-mode netdev of every banger VM (args.ts): the one forwards are added to. */
const NETDEV = 'net0';

/**
 * Runtime forwards on a running QEMU's user networking, through QMP's
 * human-monitor-command (`hostfwd_add` has no QMP command of its own). HMP reports failure
 * as text in a successful reply, so each answer is read: empty is success for an add.
 */
export const qemuHostForwarding: HostForwarding = {
  async add(handles, { hostPort, guestPort }) {
    const rule = `tcp:127.0.0.1:${hostPort}-:${guestPort}`;
    const answer = await hmp(handles, `hostfwd_add ${NETDEV} ${rule}`);
    if (answer === '') return;
    if (/could not set up host forwarding/i.test(answer))
      throw new BangerError(ErrorCode.Conflict, `port ${hostPort} on 127.0.0.1 is already in use`);
    throw new BangerError(ErrorCode.Subprocess, `qemu hostfwd_add ${rule}: ${answer}`);
  },

  async remove(handles, hostPort) {
    const answer = await hmp(handles, `hostfwd_remove ${NETDEV} tcp:127.0.0.1:${hostPort}`);
    return /removed/.test(answer);
  },

  async list(handles) {
    return parseUsernet(await hmp(handles, 'info usernet'));
  },
};

/**
 * `info usernet`'s table, host forwards only:
 * `  TCP[HOST_FORWARD]  15       127.0.0.1 45556       10.0.2.15  3000     0     0`
 */
export function parseUsernet(text: string): HostForward[] {
  const forwards: HostForward[] = [];
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*TCP\[HOST_FORWARD\]\s+\d+\s+\S+\s+(\d+)\s+\S+\s+(\d+)\b/.exec(line);
    if (m) forwards.push({ hostPort: Number(m[1]), guestPort: Number(m[2]) });
  }
  return forwards;
}

async function hmp(handles: VmHandles, commandLine: string): Promise<string> {
  const client = await QmpClient.connect(handles.controlSocket, 5000);
  try {
    const answer = await client.execute('human-monitor-command', { 'command-line': commandLine });
    return typeof answer === 'string' ? answer.trim() : '';
  } finally {
    client.close();
  }
}
