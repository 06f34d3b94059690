/**
 * A guest's /root (its work disk) filled to the last MiB root can write — past "avail",
 * since root has ext4's reserved blocks, and short of "free", since ext4 keeps some for
 * itself — then 4 MiB given back. Run it in the guest with `sh -c`; GUEST_UNFILL undoes it.
 */
export const GUEST_FILL = [
  'set -e',
  'fallocate -l $(( $(stat -f -c "%f * %S" /root) - 67108864 )) /root/filler',
  'i=0; while fallocate -l 1048576 /root/fill.$i 2>/dev/null; do i=$((i+1)); done',
  'rm -f /root/fill.$i /root/fill.$((i-1)) /root/fill.$((i-2)) /root/fill.$((i-3)) /root/fill.$((i-4))',
].join('\n');

export const GUEST_UNFILL = 'rm -f /root/filler /root/fill.*';
