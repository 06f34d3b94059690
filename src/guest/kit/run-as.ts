import { inKit, KitPath } from './layout.js';

/** The kit's user switch: `banger-as [--keep-home] USER[:GROUP] PROGRAM [ARGS...]`. */
export const RUN_AS = 'libexec/banger-as';

/**
 * Runs a program as an image's configured user (its config's `User`), the way `docker run`
 * does: USER and GROUP are names from the image's /etc/passwd and /etc/group or numbers; a
 * number with no passwd entry runs with group 0 and no supplementary groups; a named user
 * gets its primary group and its groups from /etc/group; a GROUP given is the only one. HOME becomes the user's home ("/"
 * without an entry) unless --keep-home (the image's Env sets HOME). Names are looked up
 * with the shell's read, not a program: each process costs ~60 ms under emulation. Exit
 * 126 when the user or group is unknown, as a shell says for a command it cannot run.
 */
export function runAsScript(): string {
  return `#!${inKit(KitPath.busybox)} sh
keep_home=
[ "$1" = --keep-home ] && { keep_home=1; shift; }
spec=$1
shift
user=\${spec%%:*} group=
case $spec in *:*) group=\${spec#*:} ;; esac
uid= gid= home=/ groups=--clear-groups
while IFS=: read -r n _ u g _ h _; do
  if [ "$n" = "$user" ] || [ "$u" = "$user" ]; then uid=$u gid=$g home=$h groups=--init-groups; break; fi
done < /etc/passwd
if [ -z "$uid" ]; then
  case $user in
  '' | *[!0-9]*) echo "banger: user \\"$user\\" (the image's User) is not in the image's /etc/passwd" >&2; exit 126 ;;
  esac
  uid=$user gid=0
fi
case $group in
'') ;;
*[!0-9]*)
  groups=--clear-groups
  gid=
  while IFS=: read -r n _ g _; do [ "$n" = "$group" ] && { gid=$g; break; }; done < /etc/group
  [ -n "$gid" ] || { echo "banger: group \\"$group\\" (the image's User) is not in the image's /etc/group" >&2; exit 126; }
  ;;
*) gid=$group groups=--clear-groups ;;
esac
[ -n "$keep_home" ] || export HOME="\${home:-/}"
exec ${inKit(KitPath.setpriv)} --reuid="$uid" --regid="$gid" "$groups" -- "$@"
`;
}
