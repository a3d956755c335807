// Writing a private file so that readers see the old or the new content, never half of either.
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { RcloneError } from './errors';

/** Replaces `path` with `text`: temp file (0600) in the same folder, fsync, rename. Folders are made 0700. */
export async function writeAtomically(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const file = await open(tmp, 'wx', 0o600);
  try {
    await file.writeFile(text, 'utf8');
    await file.sync();
    await file.close();
    await chmod(tmp, 0o600);
    await rename(tmp, path);
  } catch (e) {
    await file.close().catch(() => undefined);
    await rm(tmp, { force: true });
    const code = (e as NodeJS.ErrnoException).code;
    const detail = (e as Error).message;
    throw code === 'ENOSPC'
      ? new RcloneError('Unknown', `The disk holding ${path} is full; it was not changed.`, {
          fix: 'Free some space and try again.',
          detail,
        })
      : new RcloneError('PermissionDenied', `Cannot write ${path}; it was not changed.`, {
          fix: 'Check the permissions of its folder.',
          detail,
        });
  }
}
