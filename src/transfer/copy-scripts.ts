import { awaitHeader, awaitTrailer, FIND_PORT } from './data-port.js';

// The guest's side of `vm cp`, as sh scripts run over ssh. Both directions carry one tar
// archive of one entry (a file, a directory tree or a symlink) named as its source; the
// data-port variants frame it (data-port.ts), the ssh ones ride stdin/stdout.
//
// Copy in: `$1` the destination, `$2` the entry's name, `$3` the token. As cp does, an
// existing directory receives the entry inside it; anything else is the entry's new path,
// in a directory that must exist. The archive is unpacked beside it first and moved into
// place when whole (a directory over a directory merges into it), so a failed copy leaves
// nothing behind. Copy out: `$1` the source, `$2` the token.

/** A guest path that is not there, or not what the copy needs (the script's words say which). */
export const GUEST_PATH_EXIT = 3;

const IN_START = `set -eu
dst=$1; name=$2
if [ -d "$dst" ]; then dir=$dst; final="$dst/$name"; else dir=$(dirname -- "$dst"); final=$dst; fi
[ -d "$dir" ] || { echo "no such directory: $dir" >&2; exit ${GUEST_PATH_EXIT}; }
tmp=$(mktemp -d "$dir/.banger-cp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT`;

const IN_FINISH = `[ -e "$tmp/$name" ] || [ -L "$tmp/$name" ] || { echo "the copy arrived empty" >&2; exit 12; }
if [ -d "$final" ] && [ ! -L "$final" ]; then
  if [ ! -d "$tmp/$name" ] || [ -L "$tmp/$name" ]; then echo "$final is a directory" >&2; exit ${GUEST_PATH_EXIT}; fi
  cp -a "$tmp/$name/." "$final/"
else
  mv -f -- "$tmp/$name" "$final"
fi`;

const UNTAR = 'tar -x --no-same-owner -C "$tmp" -f -';

export const COPY_IN_SSH = [IN_START, UNTAR, IN_FINISH].join('\n');

export const COPY_IN_PORT = [
  FIND_PORT,
  IN_START,
  `(
  ${awaitHeader('$3')}
  ${UNTAR.replace('-x', '-x -B')}
  ${awaitTrailer('$3')}
) < "$port"`,
  IN_FINISH,
].join('\n');

const OUT_START = `set -eu
src=$1
[ -e "$src" ] || [ -L "$src" ] || { echo "no such file or directory: $src" >&2; exit ${GUEST_PATH_EXIT}; }
dir=$(dirname -- "$src"); name=$(basename -- "$src")`;

export const COPY_OUT_SSH = [OUT_START, 'exec tar -c -f - -C "$dir" -- "$name"'].join('\n');

/** The host's header is the go-ahead; the guest answers with its own framing. */
export const COPY_OUT_PORT = [
  FIND_PORT,
  OUT_START,
  'exec 4<>"$port"',
  `(
  ${awaitHeader('$2')}
) <&4`,
  `{ printf 'banger-data:%s' "$2"; tar -c -f - -C "$dir" -- "$name"; printf 'banger-done:%s' "$2"; } >&4`,
].join('\n');
