import assert from 'node:assert/strict';
import { execa } from 'execa';
import { test } from 'node:test';
import { decodeAddress, LISTENERS_SCRIPT, parseListeners } from './listening-ports.js';

// What LISTENERS_SCRIPT prints in a guest: the four tables (read -r strips the leading
// blanks), `ls -l` of the fd directories, then each process's comm.
const GUEST = `net tcp sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
net tcp 0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1201 1 0000000000000000 100 0 0 10 0
net tcp 1: 00000000:0BB8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2301 1 0000000000000000 100 0 0 10 0
net tcp 2: 0100007F:0277 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2401 1 0000000000000000 100 0 0 10 0
net tcp 3: 0F02000A:0016 0202000A:C1A2 01 00000000:00000000 02:0009E7E5 00000000     0        0 3001 4 0000000000000000 20 4 27 10 -1
net tcp6 sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
net tcp6 0: 00000000000000000000000000000000:0016 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1202 1 0000000000000000 100 0 0 10 0
net tcp6 1: 00000000000000000000000001000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2501 1 0000000000000000 100 0 0 10 0
net udp sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
net udp 120: 00000000:0044 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 4001 2 0000000000000000 0
net udp 121: 0F02000A:A001 0302000A:0035 01 00000000:00000000 00:00000000 00000000     0        0 4101 2 0000000000000000 0
net udp6 sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
net udp6 7: 0000000000000000FFFF00000F02000A:14E9 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 4201 2 0000000000000000 0
#fd
/proc/1/fd:
total 0
lrwx------ 1 root root 64 Dec  1 15:00 0 -> /dev/null
lrwx------ 1 root root 64 Dec  1 15:00 7 -> socket:[9999]

/proc/310/fd:
total 0
lrwx------ 1 root root 64 Dec  1 15:00 3 -> socket:[1201]
lrwx------ 1 root root 64 Dec  1 15:00 4 -> socket:[1202]

/proc/412/fd:
lrwx------    1 root     root            64 Dec  1 15:00 3 -> socket:[2301]
/proc/413/fd:
lrwx------    1 root     root            64 Dec  1 15:00 3 -> socket:[2301]
/proc/500/fd:
lrwx------ 1 root root 64 Dec  1 15:00 5 -> socket:[4001]
#comm
/proc/1 systemd
/proc/310 sshd
/proc/412 busybox
/proc/413 busybox
/proc/500 dhclient
`;

test('listeners: TCP in LISTEN and unconnected UDP, IPv4 and IPv6, with their processes', () => {
  assert.deepEqual(parseListeners(GUEST), [
    { protocol: 'tcp', address: '0.0.0.0', port: 22, processes: ['sshd'] },
    // Two processes share one socket (a forked server): its name once.
    { protocol: 'tcp', address: '0.0.0.0', port: 3000, processes: ['busybox'] },
    { protocol: 'tcp', address: '127.0.0.1', port: 631, processes: [] },
    { protocol: 'tcp', address: '::', port: 22, processes: ['sshd'] },
    { protocol: 'tcp', address: '::1', port: 8080, processes: [] },
    { protocol: 'udp', address: '0.0.0.0', port: 68, processes: ['dhclient'] },
    { protocol: 'udp', address: '::ffff:10.0.2.15', port: 5353, processes: [] },
  ]);
});

test('nothing but tables, or no tables at all: no listeners, no error', () => {
  assert.deepEqual(parseListeners(''), []);
  assert.deepEqual(parseListeners('#fd\n#comm\n'), []);
  assert.equal(parseListeners(GUEST.split('#fd')[0]!).length, 7, 'without process names');
});

test('addresses: little-endian words, RFC 5952 compression, mapped IPv4', () => {
  assert.equal(decodeAddress('0100007F'), '127.0.0.1');
  assert.equal(decodeAddress('0F02000A'), '10.0.2.15');
  assert.equal(decodeAddress('00000000000000000000000000000000'), '::');
  assert.equal(decodeAddress('00000000000000000000000001000000'), '::1');
  // fe80::5054:ff:fe12:3456 as the kernel prints it
  assert.equal(decodeAddress('000080FE00000000FF005450563412FE'), 'fe80::5054:ff:fe12:3456');
  assert.equal(decodeAddress('B80D0120000000000000000001000000'), '2001:db8::1');
  assert.equal(decodeAddress('xyz'), undefined);
  assert.equal(decodeAddress('0100007F00'), undefined);
});

test("the script runs under this host's sh and its output parses (this host's own listeners)", async () => {
  const { createServer } = await import('node:net');
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  try {
    const r = await execa('sh', ['-c', LISTENERS_SCRIPT]);
    const mine = parseListeners(r.stdout).find((l) => l.port === port);
    assert.deepEqual(mine && { ...mine, processes: [] }, {
      protocol: 'tcp',
      address: '127.0.0.1',
      port,
      processes: [],
    });
    assert.ok(mine?.processes.includes('node'), `this node holds it: ${mine?.processes.join()}`);
  } finally {
    server.close();
  }
});
