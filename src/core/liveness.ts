// Does a mount answer? Asked without ever blocking the caller's process. A `stat` of a FUSE mount
// whose rclone is stopped or stuck mid-request never returns, and each one holds one of libuv's four
// worker threads (which every file, DNS and crypto call of the process shares): so at most one stat
// per mount point is ever in flight, and a mount we started is asked through its rc API instead.
// And does the endpoint still take its credentials? (CredentialWatch: read from what rclone says.)
import { readFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { classify } from './errors';
import { LogTail } from './mountLog';
import { processState } from './processes';
import type { RcClient, VfsStats } from './rc';
import type { MountRecord } from './records';

export type Liveness = 'answers' | 'dead' | 'not answering';

/** Until a probe settles, later callers wait on it (bounded) instead of starting another. */
export class Prober {
  private readonly inFlight = new Map<string, Promise<Liveness>>();

  constructor(private readonly timeoutMs = 2_000) {}

  /** A mount of another tool: stat its root (ENOTCONN and friends mean its rclone is gone). */
  probe(dir: string): Promise<Liveness> {
    let probe = this.inFlight.get(dir);
    if (!probe) {
      probe = stat(dir).then(
        () => 'answers' as const,
        (e: NodeJS.ErrnoException) => (['ENOTCONN', 'ECONNABORTED', 'EIO'].includes(e.code ?? '') ? 'dead' : 'answers'),
      );
      this.inFlight.set(dir, probe);
      void probe.finally(() => this.inFlight.delete(dir));
    }
    return within(probe, this.timeoutMs);
  }

  /**
   * A mount we started: its process state, then its rc API (HTTP on loopback: no worker thread):
   * `vfs/stats`, and `core/stats` for the last error of its transfers (its failed uploads).
   */
  async ask(pid: number, rc: RcClient): Promise<{ liveness: Liveness; stats?: VfsStats; lastError?: string }> {
    if (processState(pid) === 'T') return { liveness: 'not answering' }; // SIGSTOP: it cannot answer
    const [stats, core] = await Promise.all([
      rc.vfsStats({ timeoutMs: this.timeoutMs }).catch(() => undefined),
      rc.coreStats({ timeoutMs: this.timeoutMs }).catch(() => undefined),
    ]);
    return stats ? { liveness: 'answers', stats, lastError: core?.lastError } : { liveness: 'not answering' };
  }
}

async function within(probe: Promise<Liveness>, ms: number): Promise<Liveness> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<Liveness>((ok) => (timer = setTimeout(() => ok('not answering'), ms)));
  return Promise.race([probe, late]).finally(() => clearTimeout(timer));
}

/**
 * What is wrong with a mount's credentials: `expired` (short-lived ones ran out, or the endpoint no
 * longer takes their session token: CredentialsExpired), `refused` (keys revoked or wrong: AuthFailed).
 */
export type CredentialTrouble = 'expired' | 'refused';

/** How much of an existing log is read back at first sight of a mount's rclone. */
const LOOK_BACK_BYTES = 64 * 1024;

/**
 * Does the endpoint still take a running mount's credentials? A mount whose keys expire (an STS
 * session token) or are revoked keeps running, and every request it makes to the bucket fails.
 * rclone 1.60 counts only failed transfers in `core/stats` (its `lastError`), not failed listings
 * or reads, so its log is read too: a few new bytes per look, as cacheHealth.ts does; nothing is
 * spawned, nothing is asked of the bucket. Once seen, the trouble stays until the mount's rclone is
 * another (a Remount): rclone reads a remote's keys once, when it starts.
 */
export class CredentialWatch {
  private readonly seen = new Map<string, { identity: string; tail: LogTail; found?: CredentialTrouble }>();

  async check(r: MountRecord, lastError: string | undefined): Promise<CredentialTrouble | undefined> {
    let s = this.seen.get(r.mountPoint);
    if (!s || s.identity !== r.identity) {
      const tail = new LogTail(r.logFile, 0);
      await tail.skipTo(-LOOK_BACK_BYTES);
      this.seen.set(r.mountPoint, (s = { identity: r.identity, tail }));
      s.found = troubleIn(errorLines(thisRun(await tail.read(), r)));
    } else {
      s.found = troubleIn(errorLines(await s.tail.read())) ?? s.found;
    }
    s.tail.lines.length = 0; // only the new lines matter here: none are kept
    if (lastError) s.found = troubleIn([lastError]) ?? s.found;
    return s.found;
  }

  /** Forgets mounts that are gone. */
  keep(mountPoints: ReadonlySet<string>): void {
    for (const mp of this.seen.keys()) if (!mountPoints.has(mp)) this.seen.delete(mp);
  }
}

/** rclone's ERROR lines (where it says why a request failed; the lines that follow add only its status code). */
const errorLines = (lines: readonly string[]) => lines.filter((l) => /\bERROR\b/.test(l));

/** The last credentials trouble that these errors tell of, each classified as core classifies rclone's output. */
function troubleIn(errors: readonly string[]): CredentialTrouble | undefined {
  let found: CredentialTrouble | undefined;
  for (const error of errors) {
    const kind = classify({ stderr: error, target: '' }).kind;
    if (kind === 'CredentialsExpired') found = 'expired';
    else if (kind === 'AuthFailed') found = 'refused';
  }
  return found;
}

/**
 * The lines of a log read back that this run of rclone wrote: the log is shared by every run on the
 * mount point, and a Remount with fresh keys must not inherit the old run's errors. This run begins
 * at its rc's start ("Serving remote control on http://127.0.0.1:<its port>/", logged at NOTICE);
 * at log level ERROR, at the lines stamped no earlier than the second its process started.
 */
function thisRun(lines: readonly string[], r: MountRecord): readonly string[] {
  const marker = `Serving remote control on http://127.0.0.1:${r.port}/`;
  for (let i = lines.length - 1; i >= 0; i--) if (lines[i]!.includes(marker)) return lines.slice(i + 1);
  const since = startedAt(r.identity);
  if (since === undefined) return lines;
  const second = Math.floor(since / 1000) * 1000;
  let stamped = false; // continuation lines (no time stamp) go with the line before them
  return lines.filter((line) => {
    const at = loggedAt(line);
    if (at !== undefined) stamped = at >= second;
    return stamped;
  });
}

/** When the process of `identity` (processIdentity: "<boot id>/<start in clock ticks since boot>") started, in ms. */
function startedAt(identity: string): number | undefined {
  const ticks = Number(identity.slice(identity.lastIndexOf('/') + 1));
  const boot = bootTime();
  // USER_HZ, the unit of /proc's times, is 100 on every Linux architecture Node runs on.
  return Number.isFinite(ticks) && boot !== undefined ? boot + ticks * 10 : undefined;
}

let btime: number | undefined;
/** When this machine booted, in ms (/proc/stat). */
function bootTime(): number | undefined {
  try {
    btime ??= Number(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1]) * 1000 || undefined;
  } catch {
    return undefined;
  }
  return btime;
}

/** rclone log lines start with local time "2026/11/29 05:05:50"; undefined for a line without one. */
function loggedAt(line: string): number | undefined {
  const m = /^(\d{4})\/(\d\d)\/(\d\d) (\d\d):(\d\d):(\d\d)/.exec(line);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  return new Date(y, mo - 1, d, h, mi, s).getTime();
}
