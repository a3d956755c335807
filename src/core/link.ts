// The workspace's ./cache_hub is a symlink into a mount (/mnt/index-tts-storage/cache_hub_v24),
// switched between model versions for A/B tests and rolled back. A switch is atomic: a new link is
// made under a temporary name beside the old one and renamed over it, so a reader finds the old
// target or the new one, never no link (`ln -sf` is not atomic, and when the link points at a
// folder it makes a new link *inside* that folder). A real folder or file in the link's place is
// never deleted or overwritten. The targets a link had are kept, newest first, for rollback: one
// small file per link, changed only under the link's lock, so two windows and the CLI switching
// the same link at once leave a valid link and a valid history.
import { randomBytes } from 'node:crypto';
import {
  lstat,
  mkdir,
  readdir,
  readFile,
  readlink,
  rename,
  rm,
  rmdir,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import * as l10n from '@vscode/l10n';
import { RcloneError } from './errors';
import { writeAtomically } from './files';
import { withLock } from './lock';
import type { Mount } from './mounts';
import { holderOf } from './mountPoint';
import { keyOf } from './records';

export interface Version {
  name: string;
  path: string;
  linked: boolean;
}

export interface LinkInfo {
  link: string;
  kind: 'symlink' | 'missing' | 'directory' | 'file' | 'other';
  /** For a symlink: what it points at, as an absolute path. */
  target?: string;
}

/** How many earlier targets a link remembers. */
const HISTORY_MAX = 20;
/** How long a switch waits for another switch of the same link. */
const LOCK_MS = 30_000;
/** Bound on the stat of a target on a mount: a stuck mount never answers it. */
const STAT_MS = 10_000;
/** A temp link older than this was left by a killed process (a switch holds one for microseconds). */
const STALE_TEMP_MS = 60_000;

const errorCode = (e: unknown) => (e as NodeJS.ErrnoException).code ?? '';

/** What is at `link` (resolved against the current folder), without following it. */
export async function inspectLink(link: string): Promise<LinkInfo> {
  const abs = resolve(link);
  for (let tries = 0; ; tries++) {
    const info = await lstat(abs).catch((e: unknown) => {
      if (errorCode(e) === 'ENOENT' || errorCode(e) === 'ENOTDIR') return undefined;
      throw e;
    });
    if (!info) return { link: abs, kind: 'missing' };
    if (info.isDirectory()) return { link: abs, kind: 'directory' };
    if (info.isFile()) return { link: abs, kind: 'file' };
    if (!info.isSymbolicLink()) return { link: abs, kind: 'other' };
    try {
      return { link: abs, kind: 'symlink', target: resolve(dirname(abs), await readlink(abs)) };
    } catch (e) {
      if (tries >= 3) throw e; // else replaced between the two calls (not under our lock): look again
    }
  }
}

/** A glob with `*` and `?` (nothing else is special) as an anchored regular expression. */
export const globToRegExp = (glob: string) =>
  new RegExp(
    `^${[...glob].map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&'))).join('')}$`,
    'su',
  );

/** Names in natural order: runs of digits compare as numbers (v2 < v10), the rest code point by code point. */
export function naturalCompare(a: string, b: string): number {
  const x = a.match(/\d+|\D+/g) ?? [];
  const y = b.match(/\d+|\D+/g) ?? [];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const [p, q] = [x[i]!, y[i]!];
    if (p === q) continue;
    if (/^\d/.test(p) && /^\d/.test(q)) {
      const [n, m] = [p.replace(/^0+(?=\d)/, ''), q.replace(/^0+(?=\d)/, '')];
      if (n.length !== m.length) return n.length - m.length;
      if (n !== m) return n < m ? -1 : 1;
      continue; // 007 and 7: equal as numbers, the whole names decide below
    }
    return p < q ? -1 : 1;
  }
  return x.length !== y.length ? x.length - y.length : a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Folders directly in `root` whose name matches `pattern` (a glob with * and ?, default
 * 'cache_hub*'), in natural order (cache_hub, cache_hub_v2, cache_hub_v10); `linked` is true for
 * the one `opts.link` points at.
 */
export async function listVersions(root: string, opts: { pattern?: string; link?: string } = {}): Promise<Version[]> {
  const dir = resolve(root);
  const match = globToRegExp(opts.pattern ?? 'cache_hub*');
  const linked = opts.link ? (await inspectLink(opts.link)).target : undefined;
  const entries = await readdir(dir, { withFileTypes: true }).catch((e: unknown) => {
    const code = errorCode(e);
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new RcloneError('NotFound', l10n.t`${dir} is not a folder.`);
    if (code === 'ENOTCONN' || code === 'ECONNABORTED')
      throw new RcloneError('NotMounted', l10n.t`The mount holding ${dir} is dead (its rclone is gone).`);
    throw e;
  });
  return entries
    .filter((e) => e.isDirectory() && match.test(e.name))
    .map((e) => ({ name: e.name, path: join(dir, e.name), linked: join(dir, e.name) === linked }))
    .sort((a, b) => naturalCompare(a.name, b.name));
}

/**
 * Why a mount in this state cannot be linked into (the whole sentence: the mount at `mountPoint`
 * of `remote`, that holds `target` when given), and what to do. A function, not a table built at
 * load: the language bundle is configured after modules load.
 */
function unusable(
  state: Exclude<Mount['state'], 'mounted'>,
  mountPoint: string,
  remote: string,
  target?: string,
): { message: string; fix: string } {
  switch (state) {
    case 'stale':
      return {
        message:
          target === undefined
            ? l10n.t`The mount at ${mountPoint} (${remote}) is stale (its rclone is gone).`
            : l10n.t`The mount at ${mountPoint} (${remote}) that holds ${target} is stale (its rclone is gone); nothing was changed.`,
        fix: l10n.t('Repair the mount (Rclone: Remount / Repair), then try again.'),
      };
    case 'not answering':
      return {
        message:
          target === undefined
            ? l10n.t`The mount at ${mountPoint} (${remote}) is not answering (its rclone is alive but stuck or stopped).`
            : l10n.t`The mount at ${mountPoint} (${remote}) that holds ${target} is not answering (its rclone is alive but stuck or stopped); nothing was changed.`,
        fix: l10n.t('Wait until it answers again (a stopped rclone: kill -CONT <pid>), then try again.'),
      };
    case 'mounting':
      return {
        message:
          target === undefined
            ? l10n.t`The mount at ${mountPoint} (${remote}) is still mounting.`
            : l10n.t`The mount at ${mountPoint} (${remote}) that holds ${target} is still mounting; nothing was changed.`,
        fix: l10n.t('Wait until it is mounted, then try again.'),
      };
  }
}

/** What is at `path`, following symlinks: a folder, something else, or nothing (a parent may be a file). */
async function kindOf(path: string): Promise<'folder' | 'other' | 'missing'> {
  const info = await stat(path).catch((e: unknown) => {
    if (errorCode(e) === 'ENOENT' || errorCode(e) === 'ENOTDIR') return undefined;
    throw e;
  });
  return !info ? 'missing' : info.isDirectory() ? 'folder' : 'other';
}

const notAFolder = (path: string) =>
  new RcloneError('NotFound', l10n.t`${path} is a file, not a folder; nothing was changed.`, {
    fix: l10n.t('Choose the folder that holds the model files.'),
  });

/** `path` must be an existing folder (following symlinks); else NotFound. */
async function requireDirectory(path: string): Promise<void> {
  const kind = await kindOf(path);
  if (kind === 'missing') throw new RcloneError('NotFound', l10n.t`${path} was not found; nothing was changed.`);
  if (kind === 'other') throw notAFolder(path);
}

/**
 * Creates the missing folder `path` through the mount at `mountPoint`, one level at a time from the
 * mount point down (mkdir -p, but never outside the mount): each level that exists already must be
 * a real folder, not a file and not a symlink (which could lead off the mount). What is made is a
 * folder of the mount's VFS; in the bucket it appears with the first file written into it.
 */
async function createOnMount(path: string, mountPoint: string): Promise<void> {
  const rel = relative(mountPoint, path);
  if (!rel || rel.startsWith('..') || isAbsolute(rel)) throw notAFolder(path); // the caller checked: never happens
  let dir = mountPoint;
  for (const part of rel.split(sep)) {
    dir = join(dir, part);
    try {
      await mkdir(dir);
    } catch (e) {
      if (errorCode(e) === 'EACCES' || errorCode(e) === 'EPERM' || errorCode(e) === 'EROFS')
        throw new RcloneError(
          'PermissionDenied',
          l10n.t`Cannot create ${path} on the mount ${mountPoint}: the mount does not allow it; nothing was changed.`,
          {
            fix: l10n.t(
              'Check that the mount is not read-only and that its key may write to the bucket, then try again.',
            ),
            detail: (e as Error).message,
          },
        );
      if (errorCode(e) !== 'EEXIST') throw e;
    }
    const info = await lstat(dir);
    if (!info.isDirectory()) throw notAFolder(dir);
  }
}

/**
 * Refuses unless `target` is inside a mount of `mounts` whose state is 'mounted' (NotMounted),
 * then unless it is an existing folder (NotFound). The mount's state is looked at before anything
 * is statted (a stat on a stuck FUSE mount hangs), and the stat itself is bounded.
 */
export async function checkTargetOnMount(
  target: string,
  mounts: readonly Pick<Mount, 'mountPoint' | 'state' | 'remote'>[],
): Promise<void> {
  await ensureTargetOnMount(target, mounts, { create: false });
}

/**
 * checkTargetOnMount, except that with `create` a target that does not exist yet is created
 * through its mount (a bring-up's `outputs` → `outputs/${hostname}`: the folder the app writes
 * into, uploaded in the background); what exists and is not a folder is still refused. Says
 * whether it created the folder.
 */
export async function ensureTargetOnMount(
  target: string,
  mounts: readonly Pick<Mount, 'mountPoint' | 'state' | 'remote'>[],
  opts: { create: boolean },
): Promise<{ created: boolean }> {
  const abs = resolve(target);
  // The innermost mount holds it (a mount inside another mount's folder).
  const holder = holderOf(abs, mounts);
  if (!holder) {
    const known = mounts.map((m) => resolve(m.mountPoint));
    throw new RcloneError(
      'NotMounted',
      known.length
        ? l10n.t`No mount holds ${abs} (mounted: ${known.join(', ')}); nothing was changed.`
        : l10n.t`No mount holds ${abs} (nothing is mounted); nothing was changed.`,
      { fix: l10n.t('Mount the bucket first (Rclone: Mount…), or choose a folder under a mount point.') },
    );
  }
  const mountPoint = resolve(holder.mountPoint);
  if (holder.state !== 'mounted') {
    const { message, fix } = unusable(holder.state, mountPoint, holder.remote, abs);
    throw new RcloneError('NotMounted', message, { fix });
  }
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, fail) => {
    timer = setTimeout(
      () =>
        fail(
          new RcloneError(
            'NotMounted',
            l10n.t`The mount at ${mountPoint} (${holder.remote}) did not answer within ${STAT_MS / 1000} s; nothing was changed.`,
            { fix: unusable('not answering', mountPoint, holder.remote).fix },
          ),
        ),
      STAT_MS,
    );
  });
  const checked = (async () => {
    if (!opts.create) {
      await requireDirectory(abs);
      return false;
    }
    const kind = await kindOf(abs);
    if (kind === 'other') throw notAFolder(abs);
    if (kind === 'folder') return false;
    await createOnMount(abs, mountPoint);
    return true;
  })().catch((e: unknown) => {
    if (errorCode(e) !== 'ENOTCONN' && errorCode(e) !== 'ECONNABORTED') throw e;
    const { message, fix } = unusable('stale', mountPoint, holder.remote);
    throw new RcloneError('NotMounted', message, { fix });
  });
  const created = await Promise.race([checked, late]).finally(() => clearTimeout(timer));
  return { created };
}

export interface RelinkOptions {
  /** History in <stateDir>/links, locks in <stateDir>/locks. */
  stateDir: string;
  /** Refuses a target (throws); default: it must be an existing folder. */
  checkTarget?: (target: string) => Promise<void>;
  /** A real folder or file in the link's place is renamed to `<link>.backup-YYYYMMDD-HHMMSS` instead of refusing. */
  moveAside?: boolean;
}

const historyFile = (stateDir: string, link: string) => join(stateDir, 'links', `${keyOf(link)}.json`);

/** The earlier targets of `link` (absolute), newest first; a missing, corrupt or foreign file is no history. */
async function readHistory(stateDir: string, link: string): Promise<string[]> {
  try {
    const h = JSON.parse(await readFile(historyFile(stateDir, link), 'utf8')) as { link?: unknown; previous?: unknown };
    if (h.link !== link || !Array.isArray(h.previous)) return [];
    return h.previous.filter((p): p is string => typeof p === 'string' && isAbsolute(p)).slice(0, HISTORY_MAX);
  } catch {
    return [];
  }
}

const writeHistory = (stateDir: string, link: string, previous: string[]) =>
  writeAtomically(historyFile(stateDir, link), JSON.stringify({ link, previous }, null, 2) + '\n');

/** The targets `link` pointed at before, newest first. */
export function linkHistory(link: string, stateDir: string): Promise<string[]> {
  return readHistory(stateDir, resolve(link));
}

const inTheWay = (info: LinkInfo) =>
  new RcloneError(
    'LinkInTheWay',
    info.kind === 'directory'
      ? l10n.t`${info.link} is a real folder, not a link; it was left as it is.`
      : info.kind === 'file'
        ? l10n.t`${info.link} is a real file, not a link; it was left as it is.`
        : l10n.t`${info.link} is a real file system entry, not a link; it was left as it is.`,
    {
      fix: l10n.t`Move it away yourself (e.g. mv "${info.link}" "${info.link}.old"), or switch again letting Rclone Dev Box move it aside to ${info.link}.backup-<date>-<time> (nothing is deleted).`,
    },
  );

/** A file-system failure while changing `link`, as a named error. */
function changeFailed(e: unknown, link: string): RcloneError {
  if (e instanceof RcloneError) return e;
  const code = errorCode(e);
  const detail = (e as Error).message;
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    return new RcloneError(
      'PermissionDenied',
      l10n.t`Cannot change ${link}: this user may not write in ${dirname(link)}.`,
      {
        fix: l10n.t`Make ${dirname(link)} writable for this user, or put the link in a folder you own.`,
        detail,
      },
    );
  }
  if (code === 'EEXIST' || code === 'EISDIR' || code === 'ENOTEMPTY') {
    return new RcloneError(
      'LinkInTheWay',
      l10n.t`Something else appeared at ${link} meanwhile; it was left as it is.`,
      {
        detail,
      },
    );
  }
  return new RcloneError('Unknown', l10n.t`Cannot change ${link}: ${detail}`, { detail });
}

const tempPrefix = (link: string) => `.${basename(link)}.`;
const isTempOf = (link: string, name: string) =>
  name.startsWith(tempPrefix(link)) && /^[0-9a-f]{12}\.relink$/.test(name.slice(tempPrefix(link).length));

/** Temp links of `link` that a killed switch left behind. */
async function removeStaleTemps(link: string): Promise<void> {
  const dir = dirname(link);
  for (const name of await readdir(dir).catch(() => [])) {
    if (!isTempOf(link, name)) continue;
    const info = await lstat(join(dir, name)).catch(() => undefined);
    if (info?.isSymbolicLink() && Date.now() - info.mtimeMs > STALE_TEMP_MS) await rm(join(dir, name), { force: true });
  }
}

/**
 * Makes `link` point at `target`. Where a symlink is, a new one is made under a temp name and
 * renamed over it (atomic: readers see the old target or the new one). Where nothing is, the link
 * is created in one step, which fails rather than replace anything that appeared meanwhile.
 */
async function pointAt(link: string, target: string, replacing: boolean): Promise<void> {
  await mkdir(dirname(link), { recursive: true });
  if (!replacing) return symlink(target, link);
  await removeStaleTemps(link);
  const tmp = join(dirname(link), `${tempPrefix(link)}${randomBytes(6).toString('hex')}.relink`);
  await symlink(target, tmp);
  try {
    // Were a folder put there meanwhile, this fails (EISDIR, ENOTEMPTY) and the folder stays.
    await rename(tmp, link);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

const two = (n: number) => String(n).padStart(2, '0');
const stamp = (d: Date) =>
  `${d.getFullYear()}${two(d.getMonth() + 1)}${two(d.getDate())}-${two(d.getHours())}${two(d.getMinutes())}${two(d.getSeconds())}`;

/**
 * Renames what is at `path` to `<path>.backup-YYYYMMDD-HHMMSS` (then -2, -3… if taken). The name is
 * first reserved by creating an empty folder or file there (which only one process can), so the
 * rename replaces only that placeholder of ours, never someone's backup.
 */
async function moveAside(path: string, isDirectory: boolean): Promise<string> {
  const base = `${path}.backup-${stamp(new Date())}`;
  for (let n = 1; n < 1000; n++) {
    const name = n === 1 ? base : `${base}-${n}`;
    try {
      if (isDirectory) await mkdir(name);
      else await writeFile(name, '', { flag: 'wx', mode: 0o600 });
    } catch (e) {
      if (errorCode(e) === 'EEXIST') continue;
      throw e;
    }
    try {
      await rename(path, name);
      return name;
    } catch (e) {
      // Still our empty placeholder: rmdir removes only an empty folder; the file is checked empty.
      if (isDirectory) await rmdir(name).catch(() => undefined);
      else if ((await lstat(name).catch(() => undefined))?.size === 0) await rm(name, { force: true });
      throw e;
    }
  }
  throw new RcloneError('LinkInTheWay', l10n.t`${path} was left as it is: every backup name ${base}-N is taken.`);
}

/** A target that is the link itself, or reached through it, would make a loop. */
function refuseLoop(link: string, target: string): void {
  if (target === link || target.startsWith(`${link}/`)) {
    throw new RcloneError(
      'NotFound',
      l10n.t`${target} is reached through ${link} itself; a link cannot point into itself.`,
      {
        fix: l10n.t('Choose the folder on the mount (e.g. /mnt/<bucket>/cache_hub_v24), not a path through the link.'),
      },
    );
  }
}

/** Every change of `link` (and of its history) runs holding this lock, in whichever process. */
const underLock = <T>(stateDir: string, link: string, work: () => Promise<T>) =>
  withLock(join(stateDir, 'locks'), `link:${link}`, LOCK_MS, work);

/**
 * Points `link` at `target` (stored as an absolute path), atomically. A real folder or file in the
 * link's place is never deleted or overwritten: LinkInTheWay, unless `moveAside`. The previous
 * target (the link was a symlink pointing elsewhere) goes on the history. Same target: nothing changes.
 */
export async function relink(
  link: string,
  target: string,
  opts: RelinkOptions,
): Promise<{ changed: boolean; previous?: string; movedAside?: string }> {
  const abs = resolve(link);
  const to = resolve(target);
  refuseLoop(abs, to);
  await (opts.checkTarget ?? requireDirectory)(to);
  return underLock(opts.stateDir, abs, async () => {
    const now = await inspectLink(abs);
    if (now.kind === 'symlink' && now.target === to) return { changed: false };
    let movedAside: string | undefined;
    try {
      if (now.kind !== 'symlink' && now.kind !== 'missing') {
        if (!opts.moveAside) throw inTheWay(now);
        movedAside = await moveAside(abs, now.kind === 'directory');
      }
      const previous = now.target;
      // History first: a crash between the two leaves an entry equal to the current target, which
      // rollback skips; the other order could lose the previous target.
      const history = await readHistory(opts.stateDir, abs);
      if (previous) await writeHistory(opts.stateDir, abs, [previous, ...history].slice(0, HISTORY_MAX));
      try {
        await pointAt(abs, to, now.kind === 'symlink');
      } catch (e) {
        if (previous) await writeHistory(opts.stateDir, abs, history).catch(() => undefined);
        throw e;
      }
      return { changed: true, ...(previous && { previous }), ...(movedAside && { movedAside }) };
    } catch (e) {
      const failed = changeFailed(e, abs);
      if (!movedAside) throw failed;
      throw new RcloneError(failed.kind, l10n.t`${failed.message} What was there is now ${movedAside}.`, failed);
    }
  });
}

/**
 * Points `link` back at the newest previous target (checked like relink's), removing it from the
 * history, so rolling back again goes further back; the target rolled away from is not remembered.
 */
export async function rollback(
  link: string,
  opts: Omit<RelinkOptions, 'moveAside'>,
): Promise<{ target: string; previous?: string }> {
  const abs = resolve(link);
  return underLock(opts.stateDir, abs, async () => {
    const now = await inspectLink(abs);
    if (now.kind !== 'symlink' && now.kind !== 'missing') throw inTheWay(now);
    const history = await readHistory(opts.stateDir, abs);
    // An entry equal to where the link points now (a switch interrupted after noting it) goes nowhere.
    let i = 0;
    while (i < history.length && history[i] === now.target) i++;
    const target = history[i];
    if (!target) {
      throw new RcloneError('NotFound', l10n.t`${abs} has no earlier target to go back to.`, {
        fix: l10n.t(
          'Switch it to a version first: each switch remembers the target it replaced, and rollback returns to it.',
        ),
      });
    }
    await (opts.checkTarget ?? requireDirectory)(target);
    try {
      // Link first: a crash between the two leaves the target on the history, where it is skipped.
      await pointAt(abs, target, now.kind === 'symlink');
      await writeHistory(opts.stateDir, abs, history.slice(i + 1));
    } catch (e) {
      throw changeFailed(e, abs);
    }
    return { target, ...(now.target && { previous: now.target }) };
  });
}
