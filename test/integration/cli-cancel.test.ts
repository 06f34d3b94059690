import assert from 'node:assert/strict';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { RpcServer, type Route } from '../../src/daemon/rpc-server.js';
import { imageBuild } from '../../src/protocol/image.js';
import { Staging } from '../../src/system/atomic-publish.js';
import { makeSandbox, type Sandbox } from '../helpers/sandbox.js';

/** A promise with its resolve on the outside. */
function later<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/**
 * A real RpcServer on the sandbox's socket, standing in for bangerd, whose `image.build` stages a
 * directory, waits to be cancelled, and removes its staging only when the test opens `gate`:
 * a cleanup that takes as long as the test wants. The real CLI talks to it.
 */
async function slowCleanupServer(sb: Sandbox) {
  const started = later();
  const aborted = later<unknown>();
  const gate = later();
  const cleaned = later();
  const route: Route = {
    spec: imageBuild,
    handle: async (_params, ctx) => {
      const staging = await Staging.create(sb.layout.imagesDir, 'cafe');
      await writeFile(join(staging.dir, 'rootfs.ext4'), 'half a build');
      started.resolve();
      try {
        await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
        aborted.resolve(ctx.signal.reason);
        throw ctx.signal.reason;
      } finally {
        await gate.promise;
        await staging.discard();
        cleaned.resolve();
      }
    },
  };
  const server = new RpcServer(new Map([[imageBuild.name, route]]), pino({ level: 'silent' }));
  await mkdir(dirname(sb.layout.socket), { recursive: true });
  await server.listen(sb.layout.socket);
  return { rpc: server, started, aborted, gate, cleaned };
}

/** Resolves when `text` shows up on the child's stderr; rejects if it exits first. */
function said(
  child: ReturnType<Sandbox['spawn']>['child'],
  stderr: () => string,
  text: RegExp,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (text.test(stderr())) resolve();
    };
    child.stderr?.on('data', () => setImmediate(check));
    void child.then((r) =>
      reject(
        new Error(
          `the CLI exited (${r.exitCode ?? r.signal}) before saying ${text}; stderr: ${stderr()}`,
        ),
      ),
    );
    check();
  });
}

test('Ctrl-C during image build returns only after bangerd removed the staging, exit 130', async () => {
  const sb = await makeSandbox();
  const server = await slowCleanupServer(sb);
  try {
    const { child, stderr } = sb.spawn(['image', 'build']);
    await server.started.promise;
    child.kill('SIGINT');
    // Before the fix the CLI died at Ctrl-C here, with the cleanup still to come.
    await said(child, stderr, /cancelling: .*Ctrl-C again to leave it to the daemon/);
    server.gate.resolve();
    const result = await child;
    assert.equal(result.exitCode, 130, stderr());
    assert.deepEqual(await readdir(sb.layout.imagesDir), [], 'the staging outlived the CLI');
    assert.match(stderr(), /banger: image build cancelled\n/);
  } finally {
    server.gate.resolve();
    await server.rpc.close();
    await sb.dispose();
  }
});

test('a second Ctrl-C leaves at once, and bangerd still finishes the cleanup', async () => {
  const sb = await makeSandbox();
  const server = await slowCleanupServer(sb);
  try {
    const { child, stderr } = sb.spawn(['image', 'build']);
    await server.started.promise;
    child.kill('SIGINT');
    await said(child, stderr, /cancelling/);
    child.kill('SIGINT');
    const result = await child;
    assert.equal(result.exitCode, 130, stderr());
    assert.match(stderr(), /image build cancelled; bangerd finishes removing what it staged/);
    assert.deepEqual(await readdir(sb.layout.imagesDir), ['cafe.staging']);
    server.gate.resolve();
    await server.cleaned.promise;
    assert.deepEqual(await readdir(sb.layout.imagesDir), []);
  } finally {
    server.gate.resolve();
    await server.rpc.close();
    await sb.dispose();
  }
});

test('a CLI killed outright still gets its build cancelled and cleaned up', async () => {
  const sb = await makeSandbox();
  const server = await slowCleanupServer(sb);
  try {
    const { child } = sb.spawn(['image', 'build']);
    await server.started.promise;
    child.kill('SIGKILL');
    assert.match(String(await server.aborted.promise), /the client disconnected/);
    server.gate.resolve();
    await server.cleaned.promise;
    assert.deepEqual(await readdir(sb.layout.imagesDir), []);
  } finally {
    server.gate.resolve();
    await server.rpc.close();
    await sb.dispose();
  }
});
