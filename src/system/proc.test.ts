import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';
import {
  parseMappingResident,
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
    assert.equal(await waitForExit(pid, 100), false);
  } finally {
    child.kill('SIGKILL');
  }
  assert.equal(await waitForExit(pid, 5000), true);
  assert.deepEqual(await processArgs(999_999_999), []);
  assert.equal(pidExists(0), false);
  assert.equal(pidExists(-5), false);
});

test('processUsage agrees with what a child measures of itself', async () => {
  // The child burns 0.3 s of CPU, prints its own CPU time and RSS, then idles: the parser must
  // find that time in /proc/PID/stat (ticks of 10 ms) and that RSS in /proc/PID/status.
  const burn = `const cpu = () => { const { user, system } = process.cpuUsage(); return (user + system) / 1e6; };
    while (cpu() < 0.3);
    console.log(JSON.stringify({ cpu: cpu(), rss: process.memoryUsage().rss }));
    setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['-e', burn], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const [line] = (await once(child.stdout, 'data')) as [Buffer];
    const self = JSON.parse(String(line)) as { cpu: number; rss: number };
    const usage = await processUsage(child.pid!);
    assert.ok(self.cpu >= 0.3, `the child burnt ${self.cpu} s`);
    assert.ok(
      Math.abs(usage.cpuSeconds - self.cpu) < 0.1,
      `${usage.cpuSeconds} s vs ${self.cpu} s`,
    );
    const ratio = usage.rssBytes / self.rss;
    assert.ok(ratio > 0.8 && ratio < 1.25, `rss ${usage.rssBytes} vs ${self.rss}`);
  } finally {
    child.kill('SIGKILL');
  }
});

test('smaps: the resident part of the anonymous mapping of the guest RAM size only', () => {
  const smaps = [
    '7f6257e00000-7f6297e00000 rw-p 00000000 00:00 0 ',
    'Size:            1048576 kB',
    'Rss:              122880 kB',
    '7f629cc00000-7f62dcc00000 rw-p 00000000 fe:00 16039968                   /k/vmlinux',
    'Size:            1048576 kB',
    'Rss:               45056 kB',
    '555fa943e000-555fa9e92000 rw-p 00000000 00:00 0                          [heap]',
    'Rss:                4096 kB',
    '7f6250000000-7f6250a5a000 rw-p 00000000 00:00 0 ',
    'Rss:               10240 kB',
  ].join('\n');
  assert.equal(parseMappingResident(smaps, 1024 * 2 ** 20), 122880 * 1024);
  assert.equal(parseMappingResident(smaps, 512 * 2 ** 20), 0);
});
