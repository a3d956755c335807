// Is a mount's VFS cache in trouble? rclone 1.60's `vfs/stats` keeps `outOfSpace` false while
// every write fails with ENOSPC (it sets it only when its cleaner runs), so its log is read too:
// a "no space left on device" in the last minutes, on a cache disk that is still (nearly) full,
// means writes are failing now. Reads a few new bytes of the log per look; spawns nothing.
import { statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { LogTail } from './mountLog';
import type { VfsStats } from './rc';
import type { MountRecord } from './records';

/** An ENOSPC older than this no longer counts. */
const RECENT_MS = 10 * 60_000;
/** Below this much free space the cache disk counts as full. */
const NEARLY_FULL_BYTES = 64 * 1024 * 1024;
/** How much of an existing log is read back at first sight. */
const LOOK_BACK_BYTES = 64 * 1024;

export interface CacheHealth {
  outOfSpace: boolean;
  erroredFiles: number;
}

/** rclone's default cache folder: $XDG_CACHE_HOME/rclone or ~/.cache/rclone. */
const defaultCacheDir = (env = process.env) => join(env.XDG_CACHE_HOME || join(env.HOME || '/tmp', '.cache'), 'rclone');

export class CacheWatch {
  private readonly seen = new Map<string, { pid: number; tail: LogTail; lastNoSpace: number }>();

  async check(r: MountRecord, stats: VfsStats): Promise<CacheHealth> {
    const health = { outOfSpace: stats.outOfSpace, erroredFiles: stats.erroredFiles };
    let s = this.seen.get(r.mountPoint);
    if (!s || s.pid !== r.pid) {
      const tail = new LogTail(r.logFile, 0);
      await tail.skipTo(-LOOK_BACK_BYTES);
      this.seen.set(r.mountPoint, (s = { pid: r.pid, tail, lastNoSpace: 0 }));
    }
    for (const line of await s.tail.read()) {
      if (/no space left on device/i.test(line)) s.lastNoSpace = Math.max(s.lastNoSpace, timeOf(line));
    }
    if (health.outOfSpace || Date.now() - s.lastNoSpace > RECENT_MS) return health;
    const disk = await statfs(r.profile.cacheDir || defaultCacheDir()).catch(() => undefined);
    if (!disk) return health;
    // On a small cache disk (a tmpfs of a few MB) 64 MB free is all of it: there at most an eighth
    // of the disk counts as nearly full, so the trouble goes once space is freed.
    health.outOfSpace = disk.bavail * disk.bsize < Math.min(NEARLY_FULL_BYTES, (disk.blocks * disk.bsize) / 8);
    return health;
  }

  /** Forgets mounts that are gone. */
  keep(mountPoints: ReadonlySet<string>): void {
    for (const mp of this.seen.keys()) if (!mountPoints.has(mp)) this.seen.delete(mp);
  }
}

/** rclone log lines start with local time "2026/11/29 05:05:50"; a line without one is "now". */
function timeOf(line: string): number {
  const m = /^(\d{4})\/(\d\d)\/(\d\d) (\d\d):(\d\d):(\d\d)/.exec(line);
  if (!m) return Date.now();
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  return new Date(y, mo - 1, d, h, mi, s).getTime();
}
