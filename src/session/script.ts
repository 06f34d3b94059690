import { BangerError, ErrorCode } from '../errors.js';

// Sessions: long-running processes in the guest, each a tmux session (the golden image
// ships tmux), with its output, command, start/end times and exit code kept in
// /root/.banger/sessions/NAME on the work disk. They belong to the guest: they outlive the
// CLI and the daemon, and end with their process or the VM.

export const SESSIONS_DIR = '/root/.banger/sessions';
/** Seconds `session stop` waits after the interrupt before it terminates the process. */
export const STOP_GRACE_SECONDS = 10;
/**
 * What pipe-pane feeds a session's output to: `perl logger LOG HALF`. One process reading
 * the pane as fast as tmux writes (tmux drops what it still buffers when the pane ends, so
 * a slow reader loses the end of the output), appending to LOG until it holds HALF bytes,
 * then renaming it to LOG.1 and starting a new LOG: the two hold the newest output, at most
 * 2 × HALF, nothing lost. Perl is everywhere sessions run (Debian's perl-base is essential;
 * pulled images have the guest kit's); where it is not, output goes to LOG unbounded.
 */
export const SESSION_LOGGER = `my ($log, $half) = @ARGV;
my $size = 0;
open(my $out, '>>', $log) or die "$log: $!";
while (1) {
  my $n = sysread(STDIN, my $buf, 65536);
  last unless $n;
  my $at = 0;
  while ($at < $n) {
    if ($size >= $half) {
      close($out);
      rename($log, "$log.1") or die "$log: $!";
      open($out, '>>', $log) or die "$log: $!";
      $size = 0;
    }
    my $len = $n - $at < $half - $size ? $n - $at : $half - $size;
    my $w = syswrite($out, $buf, $len, $at);
    die "$log: $!" unless defined $w;
    $at += $w;
    $size += $w;
  }
}`;

/** Separates the fields of a listing line (the command may hold tabs and spaces). */
const FS = '\x1f';

/**
 * One script for every operation: `sh -c SCRIPT banger-session OP NAME [ARGS...]`. A
 * session's command runs in /root/repo when there is one, else in the image's WorkingDir or
 * /root, with the image's Env and User (sessionRunScript).
 * Exit codes: 4 no tmux, 5 the name is taken, 6 no such session, 7 it is not running.
 * The command waits for a "go" file so that pipe-pane is in place before its first byte.
 * The wrapper traps SIGINT (a handler, which exec resets, not an ignore, which it keeps):
 * Ctrl-C in the pane interrupts the command, and the wrapper still records its exit.
 */
export const SESSION_SCRIPT = `set -eu
op=$1
name=\${2:-}
root=${SESSIONS_DIR}
s="$root/$name"
command -v tmux >/dev/null 2>&1 || { echo "the guest has no tmux: sessions need it" >&2; exit 4; }
# "=NAME" matches the session exactly; "=NAME:" is its (only) pane for pane commands.
pane="=$name:"
# The exit file first: a test is a builtin, has-session a process (~0.1 s under emulation).
alive() { [ ! -e "$s/exit" ] && tmux has-session -t "=$name" 2>/dev/null; }
need() { [ -d "$s" ] || { echo "no session $name" >&2; exit 6; }; }
# One listing line, with builtins only (read, not cat): each process costs under emulation.
val() { v=; [ -e "$1" ] && { IFS= read -r v < "$1" || true; }; printf '%s' "$v"; }
row() {
  n=\${1##*/}
  if [ -e "$1/exit" ]; then st=exited; code=$(val "$1/exit"); elif tmux has-session -t "=$n" 2>/dev/null; then st=running; code=; else st=exited; code=; fi
  printf '%s${FS}%s${FS}%s${FS}%s${FS}%s${FS}%s\n' "$n" "$st" "$code" "$(val "$1/started")" "$(val "$1/ended")" "$(val "$1/command")"
}
case $op in
start)
  # $3: the script that runs the command (directory, environment, user: sessionRunScript);
  # $4: the command for people to read; $5: the output's bound in bytes; $6: SESSION_LOGGER.
  if [ -d "$s" ]; then
    if alive; then echo "session $name is running already" >&2; exit 5; fi
    rm -rf "$s"
  fi
  mkdir -p "$s"
  printf '%s' "$4" > "$s/command"
  printf '%s' "$3" > "$s/run"
  printf '%s' "$6" > "$s/logger"
  date -u +%Y-%m-%dT%H:%M:%SZ > "$s/started"
  tmux new-session -d -s "$name" -x 200 -y 50 \\
    "trap : INT; while [ ! -e '$s/go' ]; do sleep 0.05; done; sh '$s/run'; echo \\$? > '$s/exit.tmp'; date -u +%Y-%m-%dT%H:%M:%SZ > '$s/ended'; mv '$s/exit.tmp' '$s/exit'"
  : > "$s/output.log"
  if perl=$(command -v perl); then log="exec '$perl' '$s/logger' '$s/output.log' $(($5 / 2))"
  else log="exec cat >> '$s/output.log'"; fi
  tmux pipe-pane -t "$pane" -o "$log" || {
    tmux kill-session -t "=$name" 2>/dev/null; rm -rf "$s"; exit 1
  }
  touch "$s/go"
  row "$s"
  ;;
list)
  [ -d "$root" ] || exit 0
  for d in "$root"/*/; do [ -d "$d" ] && row "\${d%/}"; done
  ;;
show) need; row "$s" ;;
logs)
  need
  if [ "\${3:-}" = follow ]; then
    [ ! -e "$s/output.log.1" ] || cat "$s/output.log.1"
    tail -c +1 -F "$s/output.log" 2>/dev/null & t=$!
    while alive; do sleep 0.3; done
    sleep 0.5; kill $t 2>/dev/null || true
  else
    [ ! -e "$s/output.log.1" ] || cat "$s/output.log.1"
    cat "$s/output.log"
  fi
  ;;
send)
  need; alive || { echo "session $name is not running" >&2; exit 7; }
  tmux send-keys -t "$pane" -l -- "$3"
  [ "\${4:-}" != enter ] || tmux send-keys -t "$pane" Enter
  ;;
attach)
  need; alive || { echo "session $name is not running" >&2; exit 7; }
  exec tmux attach -t "=$name"
  ;;
stop|kill)
  need
  if alive; then
    pid=$(tmux display -p -t "$pane" '#{pane_pid}')
    if [ "$op" = stop ]; then
      tmux send-keys -t "$pane" C-c
      i=0; while alive && [ $i -lt ${STOP_GRACE_SECONDS * 2} ]; do sleep 0.5; i=$((i + 1)); done
      if alive; then pkill -TERM -P "$pid" || true; i=0; while alive && [ $i -lt 6 ]; do sleep 0.5; i=$((i + 1)); done; fi
    fi
    if alive; then pkill -KILL -P "$pid" || true; sleep 0.3; fi
    tmux kill-session -t "=$name" 2>/dev/null || true
  fi
  [ -e "$s/exit" ] || { echo 137 > "$s/exit"; date -u +%Y-%m-%dT%H:%M:%SZ > "$s/ended"; }
  row "$s"
  ;;
*) echo "unknown session operation $op" >&2; exit 2 ;;
esac`;

export interface SessionInfo {
  name: string;
  state: 'running' | 'exited';
  exitCode?: number;
  startedAt?: string;
  endedAt?: string;
  command: string;
}

export function parseSessionRows(stdout: string): SessionInfo[] {
  return stdout
    .split('\n')
    .filter((l) => l.includes(FS))
    .map((line) => {
      const [name = '', state, code, started, ended, command = ''] = line.split(FS);
      const exitCode = code && /^\d+$/.test(code) ? Number(code) : undefined;
      return {
        name,
        state: state === 'running' ? 'running' : 'exited',
        ...(exitCode !== undefined ? { exitCode } : {}),
        ...(started ? { startedAt: started } : {}),
        ...(ended ? { endedAt: ended } : {}),
        command: command.trim(),
      };
    });
}

/** The script's exit codes as errors a user can act on. */
export function sessionError(
  vm: string,
  name: string,
  exitCode: number,
  stderr: string,
): BangerError {
  switch (exitCode) {
    case 4:
      return new BangerError(ErrorCode.Conflict, `vm "${vm}" has no tmux: sessions need it`, {
        hint: 'use an image with tmux (the default debian-bookworm has it), or add it: banger image build --package tmux',
      });
    case 5:
      return new BangerError(
        ErrorCode.AlreadyExists,
        `session "${name}" is running already in vm "${vm}"`,
        {
          hint: `pick another name, or stop it first: banger vm session stop ${vm} ${name}`,
        },
      );
    case 6:
      return new BangerError(ErrorCode.NotFound, `no session "${name}" in vm "${vm}"`, {
        hint: `banger vm session ls ${vm}`,
      });
    case 7:
      return new BangerError(ErrorCode.Conflict, `session "${name}" in vm "${vm}" is not running`, {
        hint: `banger vm session logs ${vm} ${name}`,
      });
    default:
      return new BangerError(
        ErrorCode.Subprocess,
        `session ${name} in vm "${vm}": the guest script failed (exit ${exitCode}): ${stderr.trim()}`,
      );
  }
}
