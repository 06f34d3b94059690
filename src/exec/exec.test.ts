import assert from 'node:assert/strict';
import { test } from 'node:test';
import { execScript } from './exec.js';
import { OutputCap } from './output-cap.js';

test('execScript: the command in its own session with our stdin, its group recorded', () => {
  const script = execScript(['echo', "it's"], 'abc', undefined, {
    cwd: '/srv/my app',
    env: { A: '1 2' },
  });
  assert.match(script, /^exec 3<&0$/m);
  assert.match(
    script,
    /^\(cd '\/srv\/my app' && export 'A=1 2' && exec \$s echo 'it'\\''s'\) <&3 3<&- &$/m,
  );
  assert.match(script, /^echo \$p > \/tmp\/\.banger-exec-abc$/m);
  assert.match(script, /^exit \$c$/m);
  // The image's user and environment apply as for vm ssh.
  const asUser = execScript(['id'], 't', { env: ['PATH=/x'], runAs: ['setpriv', '--reuid=1'] });
  assert.match(asUser, /\(export PATH=\/x && exec \$s setpriv --reuid=1 id\)/);
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
