import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import {
  parseCpuSeconds,
  parseRssBytes,
  pidExists,
  processArgs,
  processUsage,
  waitForExit,
} from './proc.js';

test('/proc/PID/stat: utime + stime, even when the command name has spaces and parens', () => {
  const stat = '1234 (qemu (x) y) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 150 0 0 20 0 3 0 77 0 0';
  assert.equal(parseCpuSeconds(stat), 4);
});

test('/proc/PID/status: VmRSS in bytes, 0 when absent (a kernel thread)', () => {
  assert.equal(parseRssBytes('Name:\tqemu\nVmRSS:\t  307200 kB\nThreads: 5\n'), 307200 * 1024);
  assert.equal(parseRssBytes('Name:\tkthreadd\n'), 0);
});

test('a live child: exists, its argv, its usage; after exit: gone', async () => {
  const child = spawn('sleep', ['30']);
  const pid = child.pid!;
  try {
    assert.equal(pidExists(pid), true);
    assert.deepEqual(await processArgs(pid), ['sleep', '30']);
    const usage = await processUsage(pid);
    assert.ok(usage.rssBytes > 0);
    assert.ok(usage.cpuSeconds >= 0);
    assert.equal(await waitForExit(pid, 100), false);
  } finally {
    child.kill('SIGKILL');
  }
  assert.equal(await waitForExit(pid, 5000), true);
  assert.deepEqual(await processArgs(999_999_999), []);
  assert.equal(pidExists(0), false);
  assert.equal(pidExists(-5), false);
});
