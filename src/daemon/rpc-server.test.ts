import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import {
  CancellationTokenSource,
  createMessageConnection,
  ResponseError,
  SocketMessageReader,
  SocketMessageWriter,
  type MessageConnection,
} from 'vscode-jsonrpc/node';
import { z } from 'zod';
import { BangerError, ErrorCode } from '../errors.js';
import { defineMethod, PROGRESS_NOTIFICATION, type ProgressParams } from '../protocol/method.js';
import { RpcServer, type Route } from './rpc-server.js';

// The server is generic over its routes; these exercise its mechanics (validation, progress,
// cancellation, disconnect policy) with methods declared here.
const echo = defineMethod({
  name: 'test.echo',
  params: z.strictObject({ text: z.string() }),
  result: z.object({ text: z.string() }),
  onDisconnect: 'finish',
  progress: true,
});
const slow = (name: string, onDisconnect: 'cancel' | 'finish') =>
  defineMethod({
    name,
    params: z.strictObject({}),
    result: z.object({}),
    onDisconnect,
    progress: false,
  });

const outcomes = new Map<string, string>();
function waitAndRecord(name: string): Route['handle'] {
  return (_params, ctx) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        outcomes.set(name, 'finished');
        resolve({});
      }, 300);
      ctx.signal.addEventListener('abort', () => {
        clearTimeout(timer);
        outcomes.set(name, 'aborted');
        reject(ctx.signal.reason as Error);
      });
    });
}

let dir: string;
let socketPath: string;
let server: RpcServer;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bgr-rpc-'));
  socketPath = join(dir, 's.sock');
  const routes = new Map<string, Route>([
    [
      echo.name,
      {
        spec: echo,
        handle: (params, ctx) => {
          ctx.progress('echoing', 'half way');
          ctx.progress('echoing', undefined, [{ received: 1, total: 2 }]);
          return Promise.resolve({ text: (params as { text: string }).text });
        },
      },
    ],
    ['test.cancel', { spec: slow('test.cancel', 'cancel'), handle: waitAndRecord('test.cancel') }],
    ['test.finish', { spec: slow('test.finish', 'finish'), handle: waitAndRecord('test.finish') }],
    [
      'test.fail',
      {
        spec: slow('test.fail', 'finish'),
        handle: () =>
          Promise.reject(
            new BangerError(ErrorCode.NotFound, 'vm "x" not found', { hint: 'banger vm ls' }),
          ),
      },
    ],
    [
      'test.crash',
      { spec: slow('test.crash', 'finish'), handle: () => Promise.reject(new TypeError('boom')) },
    ],
  ]);
  server = new RpcServer(routes, pino({ level: 'silent' }));
  await server.listen(socketPath);
});

after(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

async function client(): Promise<{ conn: MessageConnection; close: () => void }> {
  const socket = connect(socketPath);
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const conn = createMessageConnection(
    new SocketMessageReader(socket),
    new SocketMessageWriter(socket),
  );
  conn.listen();
  return { conn, close: () => (conn.dispose(), socket.destroy()) };
}

test('a request round-trips with progress notifications', async () => {
  const { conn, close } = await client();
  const seen: ProgressParams[] = [];
  conn.onNotification(PROGRESS_NOTIFICATION, (p: ProgressParams) => {
    seen.push(p);
  });
  const result = await conn.sendRequest('test.echo', { text: 'hi', progressToken: 't1' });
  assert.deepEqual(result, { text: 'hi' });
  assert.deepEqual(seen, [
    { token: 't1', stage: 'echoing', detail: 'half way' },
    { token: 't1', stage: 'echoing', layers: [{ received: 1, total: 2 }] },
  ]);
  close();
});

test('invalid params, unknown methods and handler errors come back structured', async () => {
  const { conn, close } = await client();
  const bad = await conn.sendRequest('test.echo', { text: 5 }).catch((e: unknown) => e);
  assert.ok(bad instanceof ResponseError);
  assert.equal(bad.code, -32602);
  assert.match(bad.message, /invalid params for test\.echo: text:/);
  assert.equal((bad.data as { code: string }).code, ErrorCode.InvalidParams);

  const extra = await conn
    .sendRequest('test.echo', { text: 'a', bogus: 1 })
    .catch((e: unknown) => e);
  assert.ok(extra instanceof ResponseError);
  assert.match(extra.message, /bogus/);

  const unknown = await conn.sendRequest('vm.nope', {}).catch((e: unknown) => e);
  assert.ok(unknown instanceof ResponseError);
  assert.equal(unknown.code, -32601);
  assert.match(unknown.message, /unknown method "vm.nope"/);

  const fail = await conn.sendRequest('test.fail', {}).catch((e: unknown) => e);
  assert.ok(fail instanceof ResponseError);
  assert.deepEqual(fail.data, { code: ErrorCode.NotFound, hint: 'banger vm ls' });

  const crash = await conn.sendRequest('test.crash', {}).catch((e: unknown) => e);
  assert.ok(crash instanceof ResponseError);
  assert.equal((crash.data as { code: string }).code, ErrorCode.Internal);
  assert.match(crash.message, /internal error: boom/);
  close();
});

test('garbage on the wire closes only that connection', async () => {
  const raw = connect(socketPath);
  await new Promise((resolve) => raw.once('connect', resolve));
  const closed = new Promise((resolve) => raw.once('close', resolve));
  raw.write('Content-Length: 9\r\n\r\n{not json');
  await closed;
  const { conn, close } = await client();
  assert.deepEqual(await conn.sendRequest('test.echo', { text: 'still up' }), { text: 'still up' });
  close();
});

test('disconnecting cancels "cancel" methods and lets "finish" methods complete', async () => {
  outcomes.clear();
  const a = await client();
  void a.conn.sendRequest('test.cancel', {}).catch(() => undefined);
  void a.conn.sendRequest('test.finish', {}).catch(() => undefined);
  await new Promise((r) => setTimeout(r, 50));
  a.close();
  await new Promise((r) => setTimeout(r, 400));
  assert.equal(outcomes.get('test.cancel'), 'aborted');
  assert.equal(outcomes.get('test.finish'), 'finished');
});

test('$/cancelRequest aborts the handler and answers with a cancelled error', async () => {
  outcomes.clear();
  const { conn, close } = await client();
  const source = new CancellationTokenSource();
  const pending = conn.sendRequest('test.finish', {}, source.token).catch((e: unknown) => e);
  await new Promise((r) => setTimeout(r, 50));
  source.cancel();
  await pending;
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(outcomes.get('test.finish'), 'aborted');
  close();
});
