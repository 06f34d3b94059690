import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import { vmKit, type Kit } from '../../test/helpers/vm-kit.js';

let kit: Kit;
before(async () => (kit = await vmKit()));
after(() => kit.close());

// Two ssh-keygens on one file: the second asked on stdin whether to overwrite, and hung.
test(
  "banger's ssh key: parallel first callers share one ssh-keygen and one key",
  { timeout: 30_000 },
  async () => {
    const keys = await Promise.all([1, 2, 3, 4, 5, 6].map(() => kit.ctx.sshKey()));
    assert.equal(new Set(keys.map((k) => k.publicKey)).size, 1);
    const onDisk = await readFile(`${keys[0]!.privateKey}.pub`, 'utf8');
    assert.equal(onDisk.trim(), keys[0]!.publicKey);
  },
);
