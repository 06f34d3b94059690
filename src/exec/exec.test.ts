import assert from 'node:assert/strict';
import { test } from 'node:test';
import { execScript } from './exec.js';
import { OutputCap } from './output-cap.js';

test('execScript: the marker and the environment exported, the command, its status', () => {
  const script = execScript(['echo', "it's"], 'abc', undefined, {
    cwd: '/srv/my app',
    env: { A: '1 2' },
  });
  assert.equal(
    script,
    "cd '/srv/my app' && export BANGER_EXEC=abc 'A=1 2' && echo 'it'\\''s'; exit $?",
  );
  // The image's user and environment apply as for vm ssh.
  const asUser = execScript(['id'], 't', { env: ['PATH=/x'], runAs: ['setpriv', '--reuid=1'] });
  assert.equal(asUser, 'export PATH=/x && export BANGER_EXEC=t && setpriv --reuid=1 id; exit $?');
  assert.throws(
    () => execScript(['true'], 't', undefined, { env: { 'A-B': '1' } }),
    /not a variable name/,
  );
});

test('OutputCap: keeps the first bytes, counts the rest, drops a cut character', () => {
  const cap = new OutputCap(5);
  cap.add(Buffer.from('abc'));
  cap.add(Buffer.from('déf'));
  assert.equal(cap.truncated, true);
  assert.equal(cap.dropped, 2);
  assert.equal(cap.text(), 'abcd');
  const roomy = new OutputCap(100);
  roomy.add(Buffer.from('all of it'));
  assert.deepEqual([roomy.text(), roomy.truncated], ['all of it', false]);
});
