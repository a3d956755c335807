// A lock file per key (a mount point, a config file), shared by every process on the box: two
// windows, or a window and the boot-time CLI, that work on the same thing at once take turns.
//
// The lock file is created whole (written under a temporary name, then hard-linked into place,
// which fails if it exists), so it is never seen empty. It names its holder by pid *and* process
// identity (boot id + start time), so a crashed holder whose pid was reused, or a lock left from
// before a reboot, is recognised as dead.
//
// Removing a lock, by its holder (release) or by a waiter (a dead holder's), takes a right first:
// creating the tombstone `<lock>.<holder token>.broken`, which only one process can. So a waiter
// that read a lock just before its holder released it (and exited: it looks dead) cannot take the
// next holder's lock for it: the release made that tombstone already. The winner renames the lock
// aside (atomic); tombstones stay a while, for waiters slow to act on what they read.
//
// Taking a free lock and releasing it are a few synchronous calls on small files (about 3 ms less
// than the same calls awaited, on the CLI's path to a mount); only waiting for a holder is async.
import { createHash, randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { chmod, mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import * as l10n from '@vscode/l10n';
import { isRcloneError, RcloneError } from './errors';
import { processIdentity, sameProcess } from './processes';

/** A lock file that cannot be read as ours after this long was left by a crash mid-write (old format). */
const UNREADABLE_STALE_MS = 10_000;
/** Tombstones of broken locks are swept after this long. */
const TOMBSTONE_MS = 10 * 60_000;

interface Holder {
  pid: number;
  identity: string;
  token: string;
}

const parse = (text: string): Holder | undefined => {
  const [pid, identity, token] = text.trim().split(' ');
  return pid && identity && token && /^\d+$/.test(pid) ? { pid: Number(pid), identity, token } : undefined;
};

export const lockFileFor = (dir: string, key: string) =>
  join(dir, `${createHash('sha256').update(key).digest('hex').slice(0, 16)}.lock`);

/** Runs `work` holding the lock for `key` (in `dir`); waits up to `timeoutMs` for another holder. */
export async function withLock<T>(dir: string, key: string, timeoutMs: number, work: () => Promise<T>): Promise<T> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = lockFileFor(dir, key);
  const me: Holder = {
    pid: process.pid,
    identity: processIdentity(process.pid) ?? 'unknown',
    token: randomBytes(8).toString('hex'),
  };
  const deadline = Date.now() + timeoutMs;
  for (let wait = 10; !tryCreate(file, me); wait = Math.min(wait * 2, 200)) {
    const holder = await breakIfDead(file);
    if (holder === 'broken') continue;
    if (Date.now() > deadline) {
      throw new RcloneError(
        'MountBusy',
        l10n.t`Another operation on ${key} is still running (process ${holder?.pid ?? '?'}).`,
        {
          fix: l10n.t('Wait for it to finish, then try again.'),
        },
      );
    }
    await delay(wait);
  }
  try {
    return await work();
  } finally {
    if (parse(readOrEmpty(file))?.token === me.token && claim(tombstoneOf(file, me.token)))
      rmSync(file, { force: true });
    void sweepTombstones(file);
  }
}

const tombstoneOf = (file: string, token: string) => `${file}.${token}.broken`;

function tryCreate(file: string, me: Holder): boolean {
  const tmp = `${file}.${me.token}.new`;
  writeFileSync(tmp, `${me.pid} ${me.identity} ${me.token}\n`, { mode: 0o600 });
  try {
    linkSync(tmp, file);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    return false;
  } finally {
    rmSync(tmp, { force: true });
  }
}

const readOrEmpty = (file: string) => {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
};

/** Takes the right to remove the lock a tombstone names; false when another process has it. */
const claim = (tombstone: string) => {
  try {
    writeFileSync(tombstone, '', { flag: 'wx', mode: 0o600 });
    return true;
  } catch {
    return false;
  }
};

/** Breaks the lock if its holder is dead ('broken'); otherwise returns the live holder (if readable). */
async function breakIfDead(file: string): Promise<Holder | 'broken' | undefined> {
  let text: string;
  let age: number;
  try {
    [text, age] = await Promise.all([readFile(file, 'utf8'), stat(file).then((s) => Date.now() - s.mtimeMs)]);
  } catch {
    return 'broken'; // released meanwhile: try again at once
  }
  const holder = parse(text);
  const dead = holder ? !sameProcess(holder.pid, holder.identity) : age > UNREADABLE_STALE_MS;
  if (!dead) return holder;
  const tombstone = tombstoneOf(file, holder?.token ?? createHash('sha256').update(text).digest('hex').slice(0, 16));
  // Lost: another waiter is breaking this very lock, or its holder released it meanwhile.
  if (!claim(tombstone)) return holder;
  // Only the winner gets here, and nobody else can remove that lock now, so `file` is still it:
  // moved aside in one step (waiters see it or its absence, never half of it), then deleted.
  const aside = `${tombstone}.dead`;
  await rename(file, aside).catch(() => undefined);
  await rm(aside, { force: true });
  return 'broken';
}

/** When this process last swept each lock's tombstones: once a minute is enough (they live 10). */
const swept = new Map<string, number>();

async function sweepTombstones(file: string): Promise<void> {
  if (Date.now() - (swept.get(file) ?? 0) < 60_000) return;
  swept.set(file, Date.now());
  const dir = join(file, '..');
  const prefix = file.slice(dir.length + 1);
  const names = (await readdir(dir).catch(() => [])).filter((n) => n.startsWith(prefix) && n.endsWith('.broken'));
  await Promise.all(
    names.map(async (name) => {
      const path = join(dir, name);
      const old = await stat(path).then(
        (s) => Date.now() - s.mtimeMs > TOMBSTONE_MS,
        () => false,
      );
      if (old) await rm(path, { force: true });
    }),
  );
}

/**
 * Runs `work` holding the edit lock of a shared file `target` (rclone's config, the AWS config;
 * symlinks already followed). The lock lives beside the file, in `<folder>/.rclone-devbox-locks/`:
 * any process able to edit the file can write that folder (an edit is a rename there) whatever its user or HOME, and every
 * spelling of the path (symlinks, `..`) meets in the same folder. A lock under our own state dir
 * would not be seen by a teammate sharing the config, nor by the CLI run with another HOME. It is
 * a hidden folder, not a dot-file, because withLock() keeps its lock files in a folder of its own.
 */
export async function lockedEdit(
  target: string,
  work: () => Promise<void>,
  fix: (dir: string) => string,
): Promise<void> {
  const dir = dirname(target);
  const locks = join(dir, '.rclone-devbox-locks');
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const created = await mkdir(locks, { mode: 0o700 }).then(
      () => true,
      (e: NodeJS.ErrnoException) => {
        if (e.code === 'EEXIST') return false;
        throw e;
      },
    );
    // The folder's own bits (the umask aside), so a team sharing a group-writable folder shares the lock too.
    if (created) await chmod(locks, (await stat(dir)).mode & 0o3777);
    await withLock(locks, basename(target), 10_000, work);
  } catch (e) {
    if (isRcloneError(e) || !(e as NodeJS.ErrnoException).code) throw e;
    throw new RcloneError('PermissionDenied', l10n.t`Cannot edit ${target}: its folder ${dir} is not writable.`, {
      fix: fix(dir),
      detail: (e as Error).message,
    });
  }
}
