// When pasted temporary credentials (keys with a session token) run out. Nothing can renew those:
// rclone holds them as they were given, and after their expiry every request fails, uploads
// included. So the user says when they expire (Add or Edit Remote), we keep that beside our other
// state (never in rclone.conf, which rclone reads), and the editor stops the remote's mounts a
// little before then: uploads are waited for first, and what still could not go stays in the VFS
// cache, uploaded by the next mount of the same cache ("Renew and Remount").
//
// Credentials from a command need none of this: rclone runs the command again itself (awsConfig.ts).
import { createHash } from 'node:crypto';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import * as l10n from '@vscode/l10n';
import { isRcloneError, RcloneError } from './errors';
import { writeAtomically } from './files';
import type { MountRegistry } from './mounts';

/** How long before the expiry a mount is stopped: time for its last uploads. */
export const STOP_BEFORE_MS = 2 * 60_000;
/** The last moments before the expiry are not spent waiting: an upload then would fail half-way. */
const LAST_UPLOAD_MS = 10_000;

/**
 * The expiry typed by the user: empty (unknown: undefined), a duration from `now` ("1h", "90m",
 * "in 45 min", "2d"), a time of day ("17:30", today or else tomorrow), or a date and time
 * ("2026-11-30T09:00:00Z", "2026-11-30 09:00"). A time already past, or text that is none of
 * these, is ConfigInvalid.
 */
export function parseExpiry(text: string, now = new Date()): Date | undefined {
  const t = text.trim().toLowerCase();
  if (!t) return undefined;
  let when: Date | undefined;
  const span = /^(?:in\s+)?(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|hr|hours?|d|days?)$/.exec(t);
  const clock = /^(\d{1,2}):(\d{2})$/.exec(t);
  if (span) {
    const unit = { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3 }[span[2]![0] as 's' | 'm' | 'h' | 'd'];
    when = new Date(now.getTime() + Number(span[1]) * unit);
  } else if (clock && Number(clock[1]) < 24 && Number(clock[2]) < 60) {
    when = new Date(now);
    when.setHours(Number(clock[1]), Number(clock[2]), 0, 0);
    if (when <= now) when.setDate(when.getDate() + 1);
  } else {
    const ms = Date.parse(text.trim());
    if (!Number.isNaN(ms)) when = new Date(ms);
  }
  if (!when)
    throw new RcloneError('ConfigInvalid', l10n.t`"${text.trim()}" is not a time.`, {
      fix: l10n.t(
        'Give a duration such as 1h or 90m, a time such as 17:30, or a date and time such as {0}.',
        '2026-11-30T09:00Z',
      ),
    });
  if (when <= now)
    throw new RcloneError('ConfigInvalid', l10n.t`${when.toISOString()} has passed already.`, {
      fix: l10n.t('Give the time the credentials expire, in the future.'),
    });
  return when;
}

interface Entry {
  configFile: string;
  remote: string;
  expires: string;
}

/** setTimeout's longest wait (about 24 days): a later expiry is planned again, or not at all, by whoever waits. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** The expiry of each remote's pasted session token: one small file per remote (any window or the CLI may write). */
export class ExpiryStore {
  constructor(readonly dir: string) {}

  /** The store every window and the CLI share: `expiry/` in the state dir (MountRegistry.stateDir). */
  static in(stateDir: string): ExpiryStore {
    return new ExpiryStore(join(stateDir, 'expiry'));
  }

  private file(configFile: string, remote: string): string {
    return join(this.dir, `${createHash('sha256').update(`${configFile}\0${remote}`).digest('hex').slice(0, 16)}.json`);
  }

  /** True when no remote has an expiry: the common case, answered without knowing the config file. */
  async empty(): Promise<boolean> {
    return !(await readdir(this.dir).catch(() => [])).some((n) => n.endsWith('.json'));
  }

  async get(configFile: string, remote: string): Promise<Date | undefined> {
    const e = await readFile(this.file(configFile, remote), 'utf8')
      .then((t) => JSON.parse(t) as Entry)
      .catch(() => undefined);
    return e?.configFile === configFile && e.remote === remote && e.expires ? new Date(e.expires) : undefined;
  }

  /** Records when the credentials of `remote` expire; undefined forgets it (keys that last, a command, unknown). */
  async set(configFile: string, remote: string, expires: Date | undefined): Promise<void> {
    const file = this.file(configFile, remote);
    if (!expires) return rm(file, { force: true });
    const entry: Entry = { configFile, remote, expires: expires.toISOString() };
    await writeAtomically(file, JSON.stringify(entry) + '\n');
  }
}

/**
 * Takes down the mount at `mountPoint` before credentials that cannot be renewed expire at
 * `expires`: waits for its uploads until shortly before then, and unmounts. Files still not
 * uploaded stay in the VFS cache (the next mount with the same cache uploads them): their number
 * is returned. Nothing mounted there any more is not an error (another window stopped it).
 */
export async function stopBeforeExpiry(
  registry: MountRegistry,
  mountPoint: string,
  expires: Date,
  opts: { signal?: AbortSignal; onProgress?: (pendingUploads: number) => void; now?: () => number } = {},
): Promise<{ left: number }> {
  const now = opts.now ?? Date.now;
  let pending = 0;
  const onProgress = (n: number) => {
    pending = n;
    opts.onProgress?.(n);
  };
  const waitMs = Math.max(0, expires.getTime() - LAST_UPLOAD_MS - now());
  try {
    await registry.unmount(mountPoint, { waitMs, signal: opts.signal, onProgress });
    return { left: 0 };
  } catch (e) {
    if (!isRcloneError(e, 'UploadsPending') || opts.signal?.aborted) throw e;
    // The credentials go in a moment: these uploads would fail anyway. They wait in the cache.
    await registry.unmount(mountPoint, { force: true, signal: opts.signal });
    return { left: pending };
  }
}
