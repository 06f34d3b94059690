// Many clients at once, on real VMs: N parallel `vm create` per round with 20 concurrent
// `vm ls` among them, then N parallel deletes. Every create succeeds or fails with a clear
// one-line error; no two VMs share a name, an ssh port or a directory; nothing is left.
// BANGER_PARALLEL_CREATES (default 4; npm run test:faults: 8) and BANGER_PARALLEL_ROUNDS
// (default 1; test:faults: 3).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { checkInvariants } from '../helpers/invariants.js';
import type { Sandbox } from '../helpers/sandbox.js';
import { assertNoVmLeft, err, out, vmSandbox } from '../helpers/vm.js';

const CREATES = Number(process.env.BANGER_PARALLEL_CREATES ?? 4);
const ROUNDS = Number(process.env.BANGER_PARALLEL_ROUNDS ?? 1);
const LONG = { timeoutMs: 900_000 };

describe(`${CREATES} parallel creates × ${ROUNDS} rounds, with 20 concurrent vm ls`, () => {
  let sb: Sandbox;
  before(async () => (sb = await vmSandbox()));
  after(() => sb?.dispose());

  test('all succeed or fail clearly; no name, port or directory collides; nothing left', async () => {
    for (let round = 1; round <= ROUNDS; round++) {
      // Half named by the test, half by banger (generated names must not collide either).
      const creates = Array.from({ length: CREATES }, (_, i) =>
        sb.cli(
          [
            ...['vm', 'create', '--memory', '256M', '--vcpu', '1'],
            ...(i % 2 === 0 ? ['--name', `p${round}-${i}`] : []),
          ],
          LONG,
        ),
      );
      const lists = Array.from({ length: 20 }, () => sb.cli(['vm', 'ls', '--json'], LONG));
      const [made, listed] = await Promise.all([Promise.all(creates), Promise.all(lists)]);
      for (const r of listed) assert.equal(r.exitCode, 0, err(r));
      for (const r of made)
        if (r.exitCode !== 0)
          assert.match(err(r).trim(), /^banger: [^\n]+(\n {2}\S[^\n]*)?$/, err(r));
      const found = await checkInvariants(sb, (a) => sb.cli(a));
      assert.deepEqual([...found.violations, ...found.leaks], []);
      const vms = found.vms;
      assert.equal(vms.length, made.filter((r) => r.exitCode === 0).length);
      const details = await Promise.all(
        vms.map(
          async (v) =>
            JSON.parse(out(await sb.cli(['vm', 'show', v.name, '--json']))) as {
              name: string;
              sshPort: number;
              dir: string;
            },
        ),
      );
      for (const key of ['name', 'sshPort', 'dir'] as const)
        assert.equal(
          new Set(details.map((d) => d[key])).size,
          details.length,
          `${key}s are unique`,
        );
      const removed = await Promise.all(vms.map((v) => sb.cli(['vm', 'rm', v.name], LONG)));
      for (const r of removed) assert.equal(r.exitCode, 0, err(r));
      await assertNoVmLeft(sb);
    }
  });
});
