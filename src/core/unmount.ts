// Taking a mount down without losing what was written to it.
import { setTimeout as delay } from 'node:timers/promises';
import * as l10n from '@vscode/l10n';
import { Child } from './child';
import { RcloneError } from './errors';
import { findFusermount } from './preflight';
import type { RcClient } from './rc';
import type { Env } from './rclone';

export interface UnmountOptions {
  signal?: AbortSignal;
  /** Unmount even with uploads pending or uncountable (they stay in the VFS cache). */
  force?: boolean;
  /** How long to wait for pending uploads before refusing (default 10 min; 0: refuse at once). */
  waitMs?: number;
  onProgress?: (pendingUploads: number) => void;
}

/** How long a zero upload count must hold before an unmount trusts it. */
const SETTLE_MS = 300;

/**
 * Waits until rclone has uploaded what was written, or refuses saying how many files are pending.
 * The kernel tells rclone a file was closed (FUSE RELEASE) only after close() has returned, so a
 * file closed just before the unmount may not be queued yet: zero counts only when it holds
 * across a short settle.
 */
export async function waitForUploads(mountPoint: string, rc: RcClient, opts: UnmountOptions): Promise<void> {
  const deadline = Date.now() + (opts.waitMs ?? 600_000);
  for (let zeros = 0; ;) {
    const s = await rc.vfsStats({ signal: opts.signal });
    const pending = s.uploadsInProgress + s.uploadsQueued;
    opts.onProgress?.(pending);
    zeros = pending === 0 ? zeros + 1 : 0;
    if (zeros === 2) return;
    if (zeros === 1) {
      await delay(SETTLE_MS);
      continue;
    }
    if (opts.signal?.aborted)
      throw new RcloneError('Cancelled', l10n.t`Unmounting ${mountPoint} was cancelled; it is still mounted.`);
    if (Date.now() >= deadline) {
      throw new RcloneError(
        'UploadsPending',
        pending === 1
          ? l10n.t('1 file is still uploading from {0}; it stays mounted.', mountPoint)
          : l10n.t('{0} files are still uploading from {1}; it stays mounted.', pending, mountPoint),
      );
    }
    await delay(250);
  }
}

/** `fusermount3 -u` (or `-uz`, lazy, for a dead mount); "not mounted" is success. */
export async function fusermount(env: Env, mountPoint: string, flag: '-u' | '-uz'): Promise<void> {
  const helper = await findFusermount(env);
  // "Busy" for a moment is common: a listing of the mount (the tree, a version list, a shell's
  // completion) holds a folder open for a few milliseconds. Tried again for about a second
  // before it counts as in use.
  for (let attempt = 0; ; attempt++) {
    const r = await new Child(helper, [flag, '--', mountPoint], { env, timeoutMs: 15_000, collect: false }).result;
    if (r.exitCode === 0) return;
    const stderr = String(r.stderr);
    if (/busy/i.test(stderr)) {
      if (attempt < BUSY_RETRIES) {
        await new Promise((ok) => setTimeout(ok, 100));
        continue;
      }
      throw new RcloneError('MountBusy', l10n.t`${mountPoint} is in use and was not unmounted.`, { detail: stderr });
    }
    if (!/not found in \/etc\/mtab|not mounted|Invalid argument/i.test(stderr)) {
      throw new RcloneError('Unknown', l10n.t`${helper} ${flag} ${mountPoint} failed.`, { detail: stderr });
    }
    return;
  }
}

/** How often an unmount refused as busy is tried again, 100 ms apart. */
const BUSY_RETRIES = 10;
