import assert from 'node:assert/strict';
import { execa } from 'execa';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import {
  chmod,
  lstat,
  mkdir,
  readFile,
  readlink,
  readdir,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { GUEST_FILL, GUEST_UNFILL } from '../helpers/guest-fill.js';
import { CLI, type Sandbox } from '../helpers/sandbox.js';
import { err, ok, out, vmSandbox } from '../helpers/vm.js';

const LONG = { timeoutMs: 600_000 };
const BIG = 200 * 2 ** 20;

async function sha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

// vm cp on a real VM: a tree with a symlink, an executable and a 200 MiB file, in and back
// out, checksums equal; tar streams on stdin/stdout; errors naming the side and the path.
describe('vm cp', () => {
  let sb: Sandbox;
  const sh = async (script: string) =>
    out(ok(await sb.cli(['vm', 'exec', 'box', '--', 'sh', '-c', script]))).trim();
  before(async () => {
    sb = await vmSandbox();
    ok(await sb.cli(['vm', 'create', '--name', 'box'], LONG));
  });
  after(() => sb?.dispose());

  test('a tree in and back out: symlink, executable, 200 MiB file, checksums equal', async () => {
    const tree = join(sb.dir, 'tree');
    await mkdir(join(tree, 'sub'), { recursive: true });
    await writeFile(join(tree, 'run.sh'), '#!/bin/sh\necho ran\n');
    await chmod(join(tree, 'run.sh'), 0o755);
    await symlink('sub/big.bin', join(tree, 'link'));
    await execa('sh', ['-c', `head -c ${BIG} /dev/urandom > '${join(tree, 'sub', 'big.bin')}'`]);
    const sum = await sha256(join(tree, 'sub', 'big.bin'));

    const cpIn = ok(await sb.cli(['vm', 'cp', tree, 'box:/root/'], LONG));
    assert.match(err(cpIn), /→ box:\/root \(over the data port\)/);
    assert.equal(await sh('sha256sum /root/tree/sub/big.bin | cut -d" " -f1'), sum);
    assert.equal(await sh('/root/tree/run.sh; readlink /root/tree/link'), 'ran\nsub/big.bin');
    assert.equal(await sh('ls -A /root | grep -c banger-cp || true'), '0', 'no staging left');

    const back = join(sb.dir, 'back');
    ok(await sb.cli(['vm', 'cp', 'box:/root/tree', back], LONG));
    assert.equal(await sha256(join(back, 'sub', 'big.bin')), sum);
    assert.equal((await lstat(join(back, 'run.sh'))).mode & 0o777, 0o755);
    assert.equal(await readlink(join(back, 'link')), 'sub/big.bin');
    assert.deepEqual(
      (await readdir(sb.dir)).filter((n) => n.startsWith('.banger-cp')),
      [],
    );

    // A file onto a file, into a directory: cp's rules.
    ok(await sb.cli(['vm', 'cp', join(tree, 'run.sh'), 'box:/root/renamed.sh']));
    assert.equal(await sh('/root/renamed.sh'), 'ran');
    ok(await sb.cli(['vm', 'cp', 'box:/root/renamed.sh', back]));
    assert.equal(await readFile(join(back, 'renamed.sh'), 'utf8'), '#!/bin/sh\necho ran\n');
  });

  test('- : a tar stream from stdin, and to stdout', async () => {
    await sh('mkdir -p /root/streamed');
    await writeFile(join(sb.dir, 'note'), 'over stdin\n');
    const banger = `'${process.execPath}' '${CLI}'`;
    const run = (script: string) =>
      execa('sh', ['-c', script], { env: sb.env, extendEnv: false, reject: false });
    const into = await run(`tar -c -C '${sb.dir}' note | ${banger} vm cp - box:/root/streamed`);
    assert.equal(into.exitCode, 0, String(into.stderr));
    assert.equal(await sh('cat /root/streamed/note'), 'over stdin');
    const outOf = await run(`${banger} vm cp box:/root/streamed - | tar -t`);
    assert.equal(outOf.exitCode, 0, String(outOf.stderr));
    assert.deepEqual(String(outOf.stdout).trim().split('\n').sort(), [
      'streamed/',
      'streamed/note',
    ]);
  });

  test('errors name the side and the path; nothing is left', async () => {
    const missing = await sb.cli(['vm', 'cp', 'box:/root/nope', sb.dir]);
    assert.notEqual(missing.exitCode, 0);
    assert.match(err(missing), /guest: no such file or directory: \/root\/nope/);
    const noDir = await sb.cli(['vm', 'cp', join(sb.dir, 'note'), 'box:/nowhere/x']);
    assert.match(err(noDir), /guest: no such directory: \/nowhere/);
    const noHost = await sb.cli(['vm', 'cp', join(sb.dir, 'absent'), 'box:/root/']);
    assert.match(err(noHost), /host: no such file or directory: .*absent/);
    const noHostDir = await sb.cli(['vm', 'cp', 'box:/root/streamed', join(sb.dir, 'x', 'y')]);
    assert.match(err(noHostDir), /host: no such directory: .*\/x/);
    const both = await sb.cli(['vm', 'cp', 'box:/a', 'box:/b']);
    assert.equal(both.exitCode, 2);
    assert.deepEqual(
      (await readdir(sb.dir)).filter((n) => n.startsWith('.banger-cp')),
      [],
    );
  });

  test('into a full guest disk: the VM named, nothing of the copy left there', async () => {
    const file = join(sb.dir, 'eight-mib');
    await writeFile(file, randomBytes(8 * 2 ** 20));
    await sh(GUEST_FILL);
    try {
      const r = await sb.cli(['vm', 'cp', file, 'box:/root/']);
      assert.equal(r.exitCode, 1, err(r));
      assert.match(
        err(r),
        /^banger: vm "box" is out of disk space: tar: .*(No space left on device|Wrote only \d+ of \d+ bytes)$/m,
      );
      assert.match(err(r), /banger vm set box --disk-size SIZE/);
      assert.equal(await sh('ls -A /root | grep -c -e eight-mib -e .banger-cp || true'), '0');
    } finally {
      await sh(GUEST_UNFILL);
    }
  });
});
