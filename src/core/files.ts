// Replacing a private file so that readers see the old or the new content, never half of either.
// A symlink stays a symlink (the file it points to is replaced), an existing file keeps its mode
// and, where we may, its owner and group (a config shared 0640/0660 with a team group stays
// shared); a new file is 0600. Temp files of ours that a killed writer left behind are removed.
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, open, readdir, readlink, rename, rm, stat, statfs } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import * as l10n from '@vscode/l10n';
import { RcloneError } from './errors';

/** The file a write to `path` must replace: `path` with every symlink followed, even to a file not there yet. */
export async function linkTarget(path: string): Promise<string> {
  for (let hops = 0; hops < 40; hops++) {
    const link = await readlink(path).catch(() => undefined); // not a link, or not there
    if (link === undefined) return path;
    path = resolve(dirname(path), link);
  }
  throw new RcloneError('ConfigInvalid', l10n.t`${path} is a symlink loop.`, {
    fix: l10n.t('Point the symlink at a real file.'),
  });
}

const tempName = (target: string) => `.${basename(target)}.${randomBytes(6).toString('hex')}.tmp`;
const isTempOf = (target: string, name: string) =>
  name.startsWith(`.${basename(target)}.`) && /^[0-9a-f]{12}\.tmp$/.test(name.slice(basename(target).length + 2));

/**
 * A writer holds its temp file for the few milliseconds between creating and renaming it, and
 * every write refreshes its mtime; one untouched for a minute belongs to a writer that was killed
 * (it may hold secrets, so it must go). Were a writer merely stalled that long, its rename would
 * fail and it would report an error: the target is never damaged either way.
 */
const STALE_MS = 60_000;

async function removeStaleTemps(target: string): Promise<void> {
  const dir = dirname(target);
  for (const name of await readdir(dir).catch(() => [])) {
    if (!isTempOf(target, name)) continue;
    const info = await lstat(join(dir, name)).catch(() => undefined);
    if (info?.isFile() && Date.now() - info.mtimeMs > STALE_MS) await rm(join(dir, name), { force: true });
  }
}

/** Replaces `path` (through symlinks) with `text`: temp file in the same folder, fsync, rename. Folders are made 0700. */
export async function writeAtomically(path: string, text: string): Promise<void> {
  const target = await linkTarget(path);
  const dir = dirname(target);
  let tmp: string | undefined;
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await removeStaleTemps(target);
    const old = await stat(target).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return undefined;
      throw e;
    });
    const name = join(dir, tempName(target));
    const file = await open(name, 'wx', 0o600);
    tmp = name; // only now ours to remove
    try {
      await file.writeFile(text, 'utf8');
      if (old) {
        // Owner and group as they were; a non-root user can at best keep the group (one of theirs).
        await file.chown(old.uid, old.gid).catch(() => file.chown(-1, old.gid).catch(() => undefined));
      }
      await file.chmod(old ? old.mode & 0o777 : 0o600); // after chown, which may clear mode bits
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(tmp, target);
  } catch (e) {
    if (tmp) await rm(tmp, { force: true });
    const code = (e as NodeJS.ErrnoException).code;
    const detail = (e as Error).message;
    throw code === 'ENOSPC'
      ? new RcloneError('Unknown', l10n.t`The disk holding ${target} is full; it was not changed.`, {
          fix: l10n.t('Free some space and try again.'),
          detail,
        })
      : new RcloneError('PermissionDenied', l10n.t`Cannot write ${target}; it was not changed.`, {
          fix: l10n.t`Make the folder ${dir} writable for this user: the file is replaced by a new one written beside it.`,
          detail,
        });
  }
}

/** Free bytes (for this user) on the disk of `dir`, or of its nearest existing parent. */
export async function freeBytes(dir: string): Promise<number | undefined> {
  for (let d = dir; ; d = dirname(d)) {
    const s = await statfs(d).catch(() => undefined);
    if (s) return s.bavail * s.bsize;
    if (dirname(d) === d) return undefined;
  }
}

/** 1536 → "1.5 KB": binary units, one decimal below 10. */
export function formatBytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let u = 0;
  while (n >= 1024 && u < units.length - 1) {
    n /= 1024;
    u++;
  }
  return `${u === 0 ? n : n.toFixed(n < 10 ? 1 : 0)} ${units[u]}`;
}
