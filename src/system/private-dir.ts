import { chmod, lstat, mkdir } from 'node:fs/promises';
import { BangerError, ErrorCode } from '../errors.js';

/**
 * Creates (or checks) a directory only we can enter: 0700, owned by this user, not a
 * symlink. A directory someone else owns is refused rather than used, since whoever owns
 * the socket's directory can replace the socket.
 */
export async function ensurePrivateDir(path: string): Promise<void> {
  await mkdir(path, { recursive: true, mode: 0o700 });
  const info = await lstat(path);
  if (!info.isDirectory())
    throw new BangerError(ErrorCode.Permission, `${path} is not a directory`, {
      hint: `remove it so banger can create the directory`,
    });
  const uid = process.getuid?.() ?? info.uid;
  if (info.uid !== uid)
    throw new BangerError(
      ErrorCode.Permission,
      `refusing to use ${path}: it is owned by uid ${info.uid}, not by this user (uid ${uid})`,
      { hint: `remove it, or point XDG_RUNTIME_DIR / XDG_STATE_HOME at a directory you own` },
    );
  if ((info.mode & 0o077) !== 0) await chmod(path, 0o700);
}
