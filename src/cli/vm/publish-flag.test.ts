import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UsageError } from '../../errors.js';
import { collectPublish, parsePublish, portValue } from './publish-flag.js';

test('--publish GUEST, HOST:GUEST and 0:GUEST', () => {
  assert.deepEqual(parsePublish('3000'), { guest: 3000 });
  assert.deepEqual(parsePublish('8080:3000'), { guest: 3000, host: 8080 });
  assert.deepEqual(parsePublish('0:3000'), { guest: 3000, host: 0 });
  assert.deepEqual(parsePublish(' 65535:1 '), { guest: 1, host: 65535 });
});

test('--publish refuses what is not [HOST:]GUEST with two ports, naming the value', () => {
  const cases: [string, RegExp][] = [
    ['', /expected \[HOST:\]GUEST/],
    ['web', /expected \[HOST:\]GUEST/],
    ['127.0.0.1:80:3000', /expected \[HOST:\]GUEST/],
    ['3000/udp', /expected \[HOST:\]GUEST/],
    ['-1', /expected/],
    ['0', /"0": the guest port must be 1 to 65535/],
    ['70000', /the guest port must be 1 to 65535/],
    ['70000:22', /the host port must be 0 \(any\) to 65535/],
  ];
  for (const [value, message] of cases)
    assert.throws(
      () => parsePublish(value),
      (err: unknown) =>
        err instanceof UsageError &&
        message.test(err.message) &&
        /--publish 8080:3000/.test(err.hint ?? ''),
      value,
    );
});

test('--publish is repeatable; a guest port given twice is a usage error', () => {
  const two = collectPublish('8080:3000', collectPublish('22022:22'));
  assert.deepEqual(two, [
    { guest: 22, host: 22022 },
    { guest: 3000, host: 8080 },
  ]);
  assert.throws(() => collectPublish('3000', two), /guest port 3000 is given twice/);
});

test('port operands: 1 to 65535; --host also takes 0', () => {
  assert.equal(portValue('guest port')('3000'), 3000);
  assert.throws(() => portValue('guest port')('0'), /guest port: "0" is not a port \(1 to 65535\)/);
  assert.throws(() => portValue('guest port')('http'), UsageError);
  assert.equal(portValue('--host', true)('0'), 0);
  assert.throws(() => portValue('--host', true)('65536'), /0 for any free one, or 1 to 65535/);
});
