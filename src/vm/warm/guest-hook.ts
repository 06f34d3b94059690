import { randomBytes } from 'node:crypto';
import { createConnection, type Socket } from 'node:net';
import { BangerError, ErrorCode } from '../../errors.js';
import { DATA_PORT_NAME } from '../../vmm/vmm.js';
import { sshScript } from '../../ssh/connection.js';
import type { SshTarget } from '../../ssh/options.js';
import type { Runner } from '../../system/runner.js';
import { PROVIDED_HOST_KEY } from '../disks.js';
import { inKit, KitPath } from '../../guest/kit/layout.js';
import { parseBootId } from './boot-id.js';

// A VM resumed from a template wakes up as the template: its hostname, machine-id, ssh host
// key, kernel RNG state and a clock stopped at the save. Before the template is saved, a
// small hook is started in it that waits on the data port; a resumed VM's hook gets the new
// identity from the host the moment the VM runs, applies it and answers — before anything
// logs in, so the first ssh handshake already meets the VM's own host key and a reseeded RNG.
// One message over a local byte stream instead of an ssh round trip (0.6 s under TCG).

/** Where the hook lives in the template (tmpfs: it exists only in the saved memory). */
const HOOK_PATH = '/run/banger-warm-hook';
const GUEST_HOST_KEY = `/root${PROVIDED_HOST_KEY}`;
/** The hook's answer starts with this; then `ok`, or `failed: <what>`. */
const ANSWER = 'banger-warm:';

/**
 * The hook, in perl (every Debian system has perl-base, and banger's guest kit carries one
 * for pulled images; it uses no modules, so a bare interpreter runs it): it is already running in the saved
 * memory, so a resumed VM pays no process start — under TCG a shell that forks `date`,
 * `hostname` and a perl for the ioctl took ~0.9 s, this ~0.3 s from connect to answer (most
 * of it TCG translating the code again after the resume). Its errors go to
 * /run/banger-warm-hook.err in the guest. A line protocol,
 * `<key> <value>` per line, ending with `end`. Until the host connects, the port reads as
 * end of file, so it polls (only ever in the template, which is saved seconds later).
 *
 * - seed: mixed into the kernel's input pool and credited (RNDADDENTROPY), then the CRNG is
 *   reseeded from it at once (RNDRESEEDCRNG): writing to /dev/urandom would mix without
 *   credit and leave the CRNG on the template's key until its next scheduled reseed.
 * - time: clock_settime(CLOCK_REALTIME); name: sethostname plus /etc/hostname and /etc/hosts;
 *   machine-id; hostkey (hex) and hostkeypub: the ssh host key sshd reads at each login.
 * - net (tap networking only): the VM's own MAC, address, gateway and DNS, set with one
 *   `ip -batch` (the NIC kept the template's MAC in its saved state; the guest sets it), or
 *   one busybox `ip` per step on an image without iproute2 (busybox has no -batch).
 * x86_64 syscall and ioctl numbers: banger's guests are amd64.
 */
const HOOK = String.raw`my ($dev, $ipmode) = @ARGV;
open(my $port, '+<', $dev) or die "open $dev: $!";
binmode $port;
my $buf = '';
while ($buf !~ /^end$/m) {
  my $n = sysread($port, my $chunk, 65536);
  die "read: $!" unless defined $n;
  if ($n == 0) { select(undef, undef, undef, 0.02); next; }
  $buf .= $chunk;
}
my %v = map { split(/ /, $_, 2) } grep { / / } split(/\n/, $buf);
my @fail;
sub put { my ($path, $mode, $text) = @_; my $tmp = "$path.banger-new";
  open(my $f, '>', $tmp) or return 0; chmod($mode, $tmp); print $f $text; close($f) or return 0;
  return rename($tmp, $path); }
if (open(my $r, '>', '/dev/random')) {
  my $d = pack('H*', $v{seed});
  (ioctl($r, 0x40085203, pack('ii', 8 * length($d), length($d)) . $d) && ioctl($r, 0x5207, 0))
    or push @fail, 'seed';
} else { push @fail, 'seed'; }
my ($sec, $ms) = split(/\./, $v{time});
syscall(227, 0, pack('qq', $sec, ($ms // 0) * 1000000)) == 0 or push @fail, "time($!)";
my $name = $v{name};
(syscall(170, $name, length($name)) == 0 && put('/etc/hostname', 0644, "$name\n")
  && put('/etc/hosts', 0644, "127.0.0.1\tlocalhost\n127.0.1.1\t$name\n::1\tlocalhost ip6-localhost ip6-loopback\n"))
  or push @fail, 'name';
put('/etc/machine-id', 0444, "$v{'machine-id'}\n") or push @fail, 'machine-id';
(put('${GUEST_HOST_KEY}', 0600, pack('H*', $v{hostkey})) && put('${GUEST_HOST_KEY}.pub', 0644, "$v{hostkeypub}\n"))
  or push @fail, 'hostkey';
if (defined $v{net}) {
  my ($mac, $addr, $gw, $dns) = split(/ /, $v{net});
  my $if;
  if (opendir(my $d, '/sys/class/net')) { ($if) = grep { !/^\.|^lo$/ } sort readdir($d); closedir($d); }
  my @steps = ("link set dev $if down", "link set dev $if address $mac", "link set dev $if up",
    "addr flush dev $if", "addr add $addr dev $if", "route replace default via $gw dev $if");
  my $ok = 0;
  if (!$if) {
  } elsif ($ipmode eq 'batch') {
    if (open(my $ip, '|-', 'ip', '-batch', '-')) { print $ip map { "$_\n" } @steps; $ok = close($ip); }
  } else {
    $ok = 1;
    for my $step (@steps) { system($ipmode, 'ip', split(/ /, $step)) == 0 or $ok = 0; }
  }
  ($ok && put('/etc/resolv.conf', 0644, join('', map { "nameserver $_\n" } split(/,/, $dns))))
    or push @fail, 'net';
}
syswrite($port, @fail ? "${ANSWER} failed: @fail\n" : "${ANSWER} ok\n");
# Held open until the host has read the answer and hung up (then reads end): QEMU drops
# what is in flight when an end closes. The port is free for a workspace import after.
while (sysread($port, my $rest, 4096)) {}
`;

/**
 * Run in the template (or a fork's parent) over ssh just before it is saved: loads the data
 * port's driver, finds the port, writes the hook and starts it detached (it outlives the ssh
 * session), then prints the guest's boot_id (boot-id.ts rewrites it in each resumed VM).
 * Exits non-zero, with the reason on stderr, when the guest has no data port or no perl.
 * On a pulled image the tools it needs beyond the image's come from the kit (its perl first
 * on PATH, busybox's setsid and the rest last).
 */
const START_HOOK_SCRIPT = `set -eu
command -v perl >/dev/null || { echo "the image has no perl (the identity hook is a perl script)" >&2; exit 1; }
# iproute2's ip takes the network steps in one -batch; busybox's (a pulled image) one by one.
if ip -V 2>&1 | grep -q iproute2; then ipmode=batch; else ipmode=${inKit(KitPath.busybox)}; fi
modprobe -q virtio_console 2>/dev/null || true
dev=
i=0
while [ -z "$dev" ]; do
  for p in /sys/class/virtio-ports/*; do
    if [ "$(cat "$p/name" 2>/dev/null)" = ${DATA_PORT_NAME} ] && [ -c "/dev/\${p##*/}" ]; then dev="/dev/\${p##*/}"; fi
  done
  i=$((i + 1)); [ $i -le 50 ] || { echo "no ${DATA_PORT_NAME} port in the guest" >&2; exit 1; }
  [ -n "$dev" ] || sleep 0.1
done
cat > ${HOOK_PATH} <<'BANGER_HOOK'
${HOOK}BANGER_HOOK
setsid perl ${HOOK_PATH} "$dev" "$ipmode" </dev/null >/dev/null 2>/run/banger-warm-hook.err &
cat /proc/sys/kernel/random/boot_id
`;

/** The pattern does not match itself: pkill -f would kill the shell that runs it. */
const STOP_HOOK_SCRIPT = `pkill -f '${HOOK_PATH.slice(0, -1)}[${HOOK_PATH.at(-1)}]' || true`;

/** Starts the hook in the guest `who` names (for errors); returns the guest's boot_id. */
export async function startHook(
  target: SshTarget,
  runner: Runner,
  who: string,
  signal?: AbortSignal,
): Promise<Buffer> {
  const out = await sshScript(
    target,
    START_HOOK_SCRIPT,
    runner,
    (why) => `${who} could not start the identity hook: ${why}`,
    { timeoutMs: 60_000, ...(signal ? { signal } : {}) },
  );
  return parseBootId(out.trim().split('\n').at(-1) ?? '');
}

/** Stops the hook again in a guest that runs on (a fork's parent): it would hold the data port. */
export async function stopHook(target: SshTarget, runner: Runner, who: string): Promise<void> {
  await sshScript(
    target,
    STOP_HOOK_SCRIPT,
    runner,
    (why) => `${who} could not stop the identity hook: ${why}`,
    { timeoutMs: 60_000 },
  );
}

/** Leaves the template as a new VM would find it: no shell history, nothing in /tmp. */
export const SETTLE_SCRIPT = `timeout 60 systemctl is-system-running --wait >/dev/null 2>&1 || true
rm -f /root/.bash_history /root/.ash_history /root/.lesshst /root/.viminfo
find /tmp /var/tmp -mindepth 1 -maxdepth 1 ! -name 'systemd-private-*' -exec rm -rf {} + 2>/dev/null || true
sync`;

export interface Identity {
  name: string;
  /** The VM's ssh host key: the private key file's text and the public line. */
  hostKey: { privateKey: string; publicKey: string };
  /** Tap networking: the VM's own MAC and address (user-mode guests all share theirs). */
  net?: { mac: string; ip: string; gateway: string; dns: string } | undefined;
}

/**
 * Sends the identity to the resumed VM's hook and waits for its answer. Fresh entropy
 * and the clock are taken here, at the last moment. Rejects when the hook does not answer
 * in time or reports a step that failed.
 */
export async function sendIdentity(
  dataSocket: string,
  identity: Identity,
  signal: AbortSignal,
  timeoutMs = 15_000,
): Promise<void> {
  const socket = await connectWithRetry(dataSocket, timeoutMs, signal);
  try {
    const lines = [
      `seed ${randomBytes(64).toString('hex')}`,
      `time ${(Date.now() / 1000).toFixed(3)}`,
      `name ${identity.name}`,
      `machine-id ${randomBytes(16).toString('hex')}`,
      `hostkey ${Buffer.from(identity.hostKey.privateKey).toString('hex')}`,
      `hostkeypub ${identity.hostKey.publicKey.trim()}`,
      ...(identity.net
        ? [`net ${identity.net.mac} ${identity.net.ip} ${identity.net.gateway} ${identity.net.dns}`]
        : []),
      'end',
    ];
    const answer = await new Promise<string>((resolve, reject) => {
      let text = '';
      const timer = setTimeout(
        () => reject(new BangerError(ErrorCode.Subprocess, 'the resumed VM did not answer')),
        timeoutMs,
      );
      const done = (fn: () => void) => {
        clearTimeout(timer);
        fn();
      };
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => {
        text += chunk;
        const line = text.split('\n').find((l) => l.startsWith(ANSWER));
        if (line && text.includes('\n', text.indexOf(ANSWER))) done(() => resolve(line));
      });
      socket.on('error', (err) => done(() => reject(err)));
      socket.on('close', () =>
        done(() => reject(new BangerError(ErrorCode.Subprocess, 'the data port closed'))),
      );
      socket.write(`${lines.join('\n')}\n`);
    });
    const result = answer.slice(ANSWER.length).trim();
    if (result !== 'ok')
      throw new BangerError(ErrorCode.Subprocess, `the resumed VM's identity hook ${result}`);
  } finally {
    socket.destroy();
  }
}

async function connectWithRetry(
  path: string,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<Socket> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    signal.throwIfAborted();
    try {
      return await new Promise<Socket>((resolve, reject) => {
        const socket = createConnection(path);
        socket.once('connect', () => resolve(socket));
        socket.once('error', reject);
      });
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}
