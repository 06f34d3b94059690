import assert from 'node:assert/strict';
import { chown, mkdir, readdir, stat } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CacheName } from '../../src/config/layout.js';
import { alive, daemonPids, makeSandbox, waitFor, type Sandbox } from '../helpers/sandbox.js';

// bangerd as a real process, driven through the real CLI (dist/) over its socket.
describe('bangerd as a process', () => {
  let sb: Sandbox;
  before(async () => {
    sb = await makeSandbox();
  });
  after(async () => {
    await sb.dispose();
  });

  test('a command that needs the daemon starts it, and status reports it', async () => {
    const ls = await sb.cli(['vm', 'ls']);
    assert.equal(ls.exitCode, 0, String(ls.stderr));
    assert.match(String(ls.stdout), /no VMs yet/);
    const pid = await sb.daemonPid();
    assert.ok(pid && alive(pid));

    const status = await sb.cli(['daemon', 'status']);
    assert.equal(status.exitCode, 0);
    const out = String(status.stdout);
    assert.match(out, new RegExp(`pid:\\s+${pid}`));
    assert.match(out, /uptime:\s+\d+s/);
    assert.ok(out.includes(sb.layout.socket));
    assert.match(out, /version:\s+\d+\.\d+\.\d+/);
    assert.match(out, /vmm:\s+(qemu|firecracker)\/(kvm|tcg)/);

    const json = JSON.parse(String((await sb.cli(['daemon', 'status', '--json'])).stdout)) as {
      pid: number;
      running: boolean;
    };
    assert.equal(json.pid, pid);
    assert.equal(json.running, true);
  });

  test('socket is 0600 in a 0700 directory; the log is in the state dir', async () => {
    assert.equal((await stat(sb.layout.socket)).mode & 0o777, 0o600);
    assert.equal((await stat(sb.layout.runtimeDir)).mode & 0o777, 0o700);
    assert.equal((await stat(sb.layout.stateDir)).mode & 0o777, 0o700);
    // Images are flattened there, setuid files and all: nobody else may reach them.
    assert.equal((await stat(join(sb.layout.cacheDir, CacheName.build))).mode & 0o777, 0o700);
    assert.ok((await readdir(sb.layout.stateDir)).includes('bangerd.log'));
  });

  test('a malformed request gets a structured error and the daemon stays up', async () => {
    const pid = await sb.daemonPid();
    const reply = await rawRequest(sb.layout.socket, {
      jsonrpc: '2.0',
      id: 7,
      method: 'vm.list',
      params: { bogus: true },
    });
    assert.equal(reply.id, 7);
    assert.equal(reply.error?.code, -32602);
    assert.equal(reply.error?.data?.code, 'INVALID_PARAMS');
    assert.match(reply.error?.message ?? '', /bogus/);

    const unknown = await rawRequest(sb.layout.socket, {
      jsonrpc: '2.0',
      id: 8,
      method: 'vm.explode',
    });
    assert.equal(unknown.error?.code, -32601);

    await rawBytes(sb.layout.socket, 'Content-Length: 5\r\n\r\n}}}}}');
    await rawBytes(sb.layout.socket, 'this is not even a header\r\n\r\n');
    const ls = await sb.cli(['vm', 'ls', '--json']);
    assert.equal(ls.exitCode, 0);
    assert.deepEqual(JSON.parse(String(ls.stdout)), []);
    assert.equal(await sb.daemonPid(), pid);
    assert.ok(alive(pid!));
  });

  test('after kill -9 the next command starts a fresh daemon', async () => {
    const old = (await sb.daemonPid())!;
    process.kill(old, 'SIGKILL');
    await waitFor('the old daemon to die', () => !alive(old));
    const ls = await sb.cli(['vm', 'ls']);
    assert.equal(ls.exitCode, 0, String(ls.stderr));
    const fresh = await sb.daemonPid();
    assert.ok(fresh && fresh !== old && alive(fresh));
  });

  test('daemon stop stops it; status then exits 3 without starting it', async () => {
    const pid = (await sb.daemonPid())!;
    const stop = await sb.cli(['daemon', 'stop']);
    assert.equal(stop.exitCode, 0, String(stop.stderr));
    assert.match(String(stop.stdout), new RegExp(`bangerd stopped \\(pid ${pid}\\)`));
    assert.equal(alive(pid), false);
    const status = await sb.cli(['daemon', 'status']);
    assert.equal(status.exitCode, 3);
    assert.match(String(status.stdout), /not running/);
    assert.deepEqual(await daemonPids(sb.dir), []);
    assert.equal(
      (await sb.cli(['daemon', 'stop'])).exitCode,
      0,
      'stopping a stopped daemon is fine',
    );
  });
});

test('five racing starters end with exactly one daemon, and all of them succeed', async () => {
  const sb = await makeSandbox();
  try {
    const results = await Promise.all([
      sb.cli(['vm', 'ls']),
      sb.cli(['daemon', 'start']),
      sb.cli(['image', 'ls']),
      sb.cli(['kernel', 'ls']),
      sb.cli(['daemon', 'start']),
    ]);
    for (const r of results) assert.equal(r.exitCode, 0, `${r.command}: ${String(r.stderr)}`);
    // The losers exit once they find the lock taken; on a loaded host that takes a while.
    await waitFor(
      'the losing daemons to exit',
      async () => (await daemonPids(sb.dir)).length <= 1,
      15_000,
    ).catch(() => undefined);
    const pids = await daemonPids(sb.dir);
    assert.equal(pids.length, 1, `daemons: ${pids.join(', ')}`);
    assert.equal(pids[0], await sb.daemonPid());
  } finally {
    await sb.dispose();
  }
});

test('the daemon refuses a socket directory it does not own, and the CLI says so', async () => {
  const sb = await makeSandbox();
  try {
    await mkdir(sb.layout.runtimeDir, { recursive: true, mode: 0o700 });
    await chown(sb.layout.runtimeDir, 65534, 65534);
    const r = await sb.cli(['vm', 'ls']);
    assert.equal(r.exitCode, 1);
    assert.match(
      String(r.stderr),
      /^banger: bangerd exited with code 1: refusing to use .* owned by uid 65534/,
    );
    assert.deepEqual(await daemonPids(sb.dir), []);
  } finally {
    await sb.dispose();
  }
});

test('an invalid config stops the daemon from starting with a one-line error', async () => {
  const sb = await makeSandbox();
  try {
    await mkdir(sb.layout.configDir, { recursive: true });
    const { writeFile } = await import('node:fs/promises');
    await writeFile(sb.layout.configFile, 'vm_default = 1\n');
    const r = await sb.cli(['vm', 'ls']);
    assert.equal(r.exitCode, 1);
    assert.match(String(r.stderr), /unknown key "vm_default" \(did you mean "vm_defaults"\?\)/);
  } finally {
    await sb.dispose();
  }
});

interface RpcReply {
  id: number;
  error?: { code: number; message: string; data?: { code: string } };
}

function rawRequest(path: string, body: object): Promise<RpcReply> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    const json = JSON.stringify(body);
    let buf = '';
    socket.on('data', (d) => {
      buf += d.toString();
      const at = buf.indexOf('\r\n\r\n');
      if (at < 0) return;
      const length = Number(/Content-Length: (\d+)/.exec(buf)?.[1]);
      const payload = buf.slice(at + 4);
      if (Buffer.byteLength(payload) >= length) {
        socket.destroy();
        resolve(JSON.parse(payload) as RpcReply);
      }
    });
    socket.on('error', reject);
    socket.write(`Content-Length: ${Buffer.byteLength(json)}\r\n\r\n${json}`);
  });
}

function rawBytes(path: string, bytes: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    socket.on('error', reject);
    socket.on('close', () => resolve());
    socket.write(bytes);
    setTimeout(() => socket.destroy(), 500).unref();
  });
}

test('SIGTERM shuts the daemon down gracefully: socket and pid file removed, shutdown logged', async () => {
  const sb = await makeSandbox();
  try {
    assert.equal((await sb.cli(['daemon', 'start'])).exitCode, 0);
    const pid = (await sb.daemonPid())!;
    process.kill(pid, 'SIGTERM');
    await waitFor('bangerd to exit', () => !alive(pid));
    const { stat: statFile, readFile } = await import('node:fs/promises');
    await assert.rejects(statFile(sb.layout.socket), /ENOENT/);
    await assert.rejects(statFile(sb.layout.pidFile), /ENOENT/);
    const log = await readFile(sb.layout.daemonLog, 'utf8');
    assert.match(log, /"signal":"SIGTERM".*shutting down/);
    assert.match(log, /bangerd stopped/);
  } finally {
    await sb.dispose();
  }
});
