import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { BangerError, ErrorCode, SubprocessError } from '../errors.js';
import { diskFullError, guestDiskFull, isDiskFull, mountOf } from './disk-full.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'banger-diskfull-'));
});
after(() => rm(dir, { recursive: true, force: true }));

const enospc = (path?: string) =>
  Object.assign(new Error('ENOSPC: no space left on device, write'), {
    code: 'ENOSPC',
    ...(path ? { path } : {}),
  });

test('isDiskFull: node ENOSPC, a host program saying so, a cause; not the guest over ssh', () => {
  assert.equal(isDiskFull(enospc()), true);
  assert.equal(
    isDiskFull(new SubprocessError('mkfs.ext4 -q x.ext4', 1, 'x.ext4: No space left on device')),
    true,
  );
  assert.equal(isDiskFull(new BangerError(ErrorCode.Internal, 'wrap', { cause: enospc() })), true);
  assert.equal(
    isDiskFull(new SubprocessError('ssh -F cfg box tar -x', 2, 'tar: No space left on device')),
    false,
    "the guest's own disk",
  );
  assert.equal(
    isDiskFull(new SubprocessError('ssh-keygen -f k', 1, 'No space left on device')),
    true,
  );
  assert.equal(isDiskFull(new BangerError(ErrorCode.NotFound, 'no such vm')), false);
  assert.equal(isDiskFull(undefined), false);
});

test('mountOf: the longest mount point holding the path, escapes read', async () => {
  const info = join(dir, 'mountinfo');
  const deep = join(dir, 'a b', 'c');
  await mkdir(deep, { recursive: true });
  const escaped = join(dir, 'a b').replaceAll(' ', '\\040');
  await writeFile(
    info,
    [
      '22 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw',
      `90 22 7:3 / ${dir} rw - ext4 /dev/loop3 rw`,
      `91 90 7:4 / ${escaped} rw - ext4 /dev/loop4 rw`,
    ].join('\n'),
  );
  assert.deepEqual(await mountOf(join(deep, 'not-yet'), info), {
    mountPoint: join(dir, 'a b'),
    source: '/dev/loop4',
  });
  assert.deepEqual(await mountOf('/etc', info), { mountPoint: '/', source: '/dev/sda1' });
});

test('diskFullError: the place the path is on, its mount and free space; else undefined', async () => {
  const state = join(dir, 'state');
  await mkdir(state, { recursive: true });
  const made = await diskFullError(enospc(join(state, 'images', 'x.ext4')), [
    { what: "banger's state", dir: state },
  ]);
  assert.ok(made instanceof BangerError);
  assert.equal(made.code, ErrorCode.DiskFull);
  assert.match(made.message, /^the disk holding banger's state is full: \/\S*( \(.+\))?, .+ free;/);
  assert.match(made.hint ?? '', /^free space on /);
  assert.equal(await diskFullError(new Error('other'), [{ what: 'x', dir: state }]), undefined);
  // A path on no place's disk (a copy's destination on another file system) is named itself.
  const elsewhere = await diskFullError(enospc('/dev/shm/banger-out'), [
    { what: 'state', dir: state },
  ]);
  assert.match(
    elsewhere?.message ?? '',
    /^the disk holding \/dev\/shm\/banger-out is full: \/dev\/shm /,
  );
});

test('diskFullError: an error already saying so is left alone; a place brings its own hint', async () => {
  const said = new BangerError(ErrorCode.DiskFull, 'the disk is full', { cause: enospc() });
  assert.equal(await diskFullError(said, [{ what: 'x', dir }]), undefined);
  const out = join(dir, 'out.patch');
  const made = await diskFullError(enospc(`${out}.banger-partial`), [
    { what: out, dir, hint: 'export elsewhere' },
  ]);
  assert.match(made?.message ?? '', new RegExp(`^the disk holding ${out} is full: `));
  assert.equal(made?.hint, 'export elsewhere');
});

test("guestDiskFull: the guest's full disk over ssh names the VM and the fix; else undefined", () => {
  const tarFull = new SubprocessError(
    'ssh -F cfg box.vm sh -c …',
    2,
    'tar: repo/big.bin: Cannot write: No space left on device\ntar: Exiting with failure status due to previous errors',
  );
  const wrapped = new BangerError(
    ErrorCode.Subprocess,
    'copying the repository into the guest failed: tar: repo/big.bin: Cannot write: No space left on device',
    { cause: tarFull },
  );
  const made = guestDiskFull('box', wrapped);
  assert.equal(made?.code, ErrorCode.DiskFull);
  assert.equal(
    made?.message,
    'vm "box" is out of disk space: tar: repo/big.bin: Cannot write: No space left on device',
  );
  assert.match(made?.hint ?? '', /banger vm set box --disk-size SIZE/);
  assert.equal(guestDiskFull('box', tarFull)?.message, made?.message, 'wrapped or not');
  // GNU tar's short write, the other way it says so.
  const short = new SubprocessError(
    'ssh box.vm sh -c …',
    2,
    'tar: eight: Wrote only 4096 of 10240 bytes\ntar: Exiting with failure status due to previous errors',
  );
  assert.equal(
    guestDiskFull('box', short)?.message,
    'vm "box" is out of disk space: tar: eight: Wrote only 4096 of 10240 bytes',
  );
  // The host's own disk, another failure in the guest, not a subprocess: not this.
  assert.equal(
    guestDiskFull('box', new SubprocessError('tar -x', 2, 'No space left on device')),
    undefined,
  );
  assert.equal(
    guestDiskFull('box', new SubprocessError('ssh box.vm', 1, 'permission denied')),
    undefined,
  );
  assert.equal(guestDiskFull('box', enospc()), undefined);
  // ssh's stdout broken by the host file it fed filling its disk: the host's, not the guest's.
  const hostSide = new SubprocessError('ssh box.vm sh -c …', 1, 'Command failed with ENOSPC: ssh', {
    cause: enospc('/tmp/out.patch.banger-partial'),
  });
  assert.equal(guestDiskFull('box', hostSide), undefined);
  assert.equal(isDiskFull(hostSide), false, 'nor does the ssh error itself say which disk');
});
