// The mount registry: the one source of truth for mount state. It reads /proc/self/mountinfo
// (every rclone FUSE mount on the box, whoever started it) and a private state file (pid, rc port
// and credentials of the mounts we started), and fires onDidChange when the picture changes.
// Learning state never spawns a process: it reads files and asks the mount's own rc API.
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rmdir, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { execa } from 'execa';
import { classify, type ErrorKind, isRcloneError, RcloneError } from './errors';
import { Emitter, type Disposable, type Event, type Logger, silentLogger } from './events';
import { writeAtomically } from './files';
import { explainNotFound, listFolder } from './listing';
import { withLock } from './lock';
import { readRcloneMounts } from './mountinfo';
import { checkAllowOther, checkMountPoint, findFusermount } from './preflight';
import { checkProfile, mountArgs, type MountProfile } from './profile';
import { endProcess, freePort, processAlive, waitForExit } from './processes';
import { RcClient, type RcEndpoint } from './rc';
import type { Rclone } from './rclone';

export interface Mount {
  mountPoint: string;
  /** "remote:bucket/path" */
  remote: string;
  /** `mounting`: our rclone runs but the kernel does not show the mount yet. */
  state: 'mounted' | 'stale' | 'mounting';
  /** Started by another tool (seed script, systemd): no rc, no pending-upload count. */
  external: boolean;
  /** Files written but not yet uploaded (queued + in progress); 0 for external mounts. */
  pendingUploads: number;
  pid?: number;
  logFile?: string;
  profile?: MountProfile;
}

interface Record_ extends RcEndpoint {
  mountPoint: string;
  remote: string;
  pid: number;
  logFile: string;
  profile: MountProfile;
}

export interface MountOptions {
  signal?: AbortSignal;
  /** Bound on waiting for the mount to become ready (default 30 s). */
  timeoutMs?: number;
}

export interface UnmountOptions {
  signal?: AbortSignal;
  /** Unmount even with uploads pending or uncountable (they stay in the VFS cache). */
  force?: boolean;
  /** How long to wait for pending uploads before refusing (default 10 min; 0: refuse at once). */
  waitMs?: number;
  onProgress?: (pendingUploads: number) => void;
}

/** Where the state file, logs and locks live: $XDG_STATE_HOME/rclone-devbox. */
export const defaultStateDir = (env = process.env) =>
  join(env.XDG_STATE_HOME || join(homedir(), '.local', 'state'), 'rclone-devbox');

/** Not ready after this long: ask a separate, bounded rclone why (see waitUntilReady). */
const DIAGNOSE_AFTER_MS = 2_000;
/** Errors that mean the mount cannot work, as opposed to "slow" or "not allowed to list buckets". */
const DECISIVE = new Set<ErrorKind>([
  'Unreachable',
  'TlsError',
  'CaBundle',
  'AuthFailed',
  'BucketNotFound',
  'RemoteNotFound',
  'ConfigInvalid',
]);

/** How long a zero upload count must hold before an unmount trusts it (see waitForUploads). */
const SETTLE_MS = 300;

const slug = (path: string) => path.replace(/^\/+/, '').replace(/[^A-Za-z0-9._-]+/g, '_') || 'root';

export class MountRegistry implements Disposable {
  private readonly changed = new Emitter<readonly Mount[]>();
  readonly onDidChange: Event<readonly Mount[]> = this.changed.event;
  private snapshot: readonly Mount[] = [];
  private fingerprint = '';
  private timer: NodeJS.Timeout | undefined;
  private readonly stateFile: string;
  private readonly log: Logger;

  /**
   * `rclone` may be a function that finds it on first need: reading state never needs rclone, so
   * an editor can show mounts without spawning anything.
   */
  constructor(
    private readonly rcloneSource: Rclone | (() => Promise<Rclone>),
    private readonly opts: { stateDir?: string; log?: Logger; mountinfo?: string } = {},
  ) {
    this.stateFile = join(this.stateDir, 'mounts.json');
    this.log = opts.log ?? silentLogger;
  }

  private rclone(): Promise<Rclone> {
    return typeof this.rcloneSource === 'function' ? this.rcloneSource() : Promise.resolve(this.rcloneSource);
  }

  get stateDir(): string {
    return this.opts.stateDir ?? defaultStateDir();
  }

  /** The last known mounts (see refresh()). */
  get mounts(): readonly Mount[] {
    return this.snapshot;
  }

  find(mountPoint: string): Mount | undefined {
    return this.snapshot.find((m) => m.mountPoint === mountPoint);
  }

  /** Re-reads mountinfo, the state file and the rc of our mounts; fires onDidChange if anything changed. */
  async refresh(): Promise<readonly Mount[]> {
    const [entries, records] = await Promise.all([readRcloneMounts(this.opts.mountinfo), this.readRecords()]);
    const mounts: Mount[] = [];
    const live: Record_[] = [];
    for (const e of entries) {
      const r = records.find((x) => x.mountPoint === e.mountPoint);
      const ours = r !== undefined && processAlive(r.pid, 'mount', r.mountPoint);
      const dead = (r !== undefined && !ours) || (await answers(e.mountPoint)) === false;
      const m: Mount = {
        mountPoint: e.mountPoint,
        remote: r?.remote ?? e.source,
        state: dead ? 'stale' : 'mounted',
        external: !r,
        pendingUploads: 0,
      };
      if (r) Object.assign(m, { pid: r.pid, logFile: r.logFile, profile: r.profile });
      if (r) live.push(r); // a dead one is kept for repair (its pid, its log) until repaired
      if (ours && !dead) {
        const stats = await new RcClient(r).vfsStats({ timeoutMs: 2_000 }).catch(() => undefined);
        m.pendingUploads = stats ? stats.uploadsInProgress + stats.uploadsQueued : 0;
      }
      mounts.push(m);
    }
    for (const r of records) {
      if (entries.some((e) => e.mountPoint === r.mountPoint) || !processAlive(r.pid, 'mount', r.mountPoint)) continue;
      mounts.push({
        mountPoint: r.mountPoint,
        remote: r.remote,
        state: 'mounting',
        external: false,
        pendingUploads: 0,
        pid: r.pid,
        logFile: r.logFile,
        profile: r.profile,
      });
      live.push(r);
    }
    if (live.length !== records.length) await this.writeRecords(live);
    this.publish(mounts);
    return mounts;
  }

  private publish(mounts: Mount[]): void {
    mounts.sort((a, b) => a.mountPoint.localeCompare(b.mountPoint));
    const fingerprint = JSON.stringify(mounts);
    this.snapshot = mounts;
    if (fingerprint === this.fingerprint) return;
    this.fingerprint = fingerprint;
    this.changed.fire(mounts);
  }

  /**
   * Keeps the snapshot current while someone listens: re-reads mountinfo (a file) and asks our
   * mounts' rc for pending uploads every `intervalMs`. No process is spawned for it.
   */
  watch(intervalMs = 2_000): Disposable {
    clearInterval(this.timer);
    this.timer = setInterval(
      () => void this.refresh().catch((e) => this.log.warn(`Mount state refresh failed: ${(e as Error).message}`)),
      intervalMs,
    );
    this.timer.unref();
    return { dispose: () => clearInterval(this.timer) };
  }

  /** The rc API of a mount we started (undefined for external mounts). */
  async rc(mountPoint: string): Promise<RcClient | undefined> {
    const r = (await this.readRecords()).find((x) => x.mountPoint === mountPoint);
    return r && processAlive(r.pid, 'mount', r.mountPoint) ? new RcClient(r) : undefined;
  }

  /**
   * Mounts `profile` and returns once the mount answers. Already mounted (same remote): returns it.
   * On failure, nothing is left behind: the process is ended, the mount point unmounted and, if we
   * created it, removed.
   */
  async mount(profile: MountProfile, opts: MountOptions = {}): Promise<Mount> {
    checkProfile(profile);
    const { mountPoint } = profile;
    return withLock(join(this.stateDir, 'locks'), mountPoint, (opts.timeoutMs ?? 30_000) + 15_000, async () => {
      const current = (await this.refresh()).find((m) => m.mountPoint === mountPoint);
      if (current?.state === 'mounted' || current?.state === 'mounting') {
        if (current.remote === profile.remote) return current;
        throw new RcloneError('AlreadyMounted', `${mountPoint} already has ${current.remote} mounted.`);
      }
      if (current?.state === 'stale') {
        throw new RcloneError(
          'Stale',
          `${mountPoint} is a dead mount (its rclone is gone): "Transport endpoint is not connected".`,
        );
      }
      const rclone = await this.rclone();
      await findFusermount(rclone.env);
      if (profile.allowOther) await checkAllowOther(process.getuid?.() ?? 0);
      await checkMountPoint(mountPoint, profile.allowNonEmpty);
      const created = await mkdir(mountPoint, { recursive: true });

      const logFile = join(this.stateDir, 'logs', `${slug(mountPoint)}.log`);
      await mkdir(join(this.stateDir, 'logs'), { recursive: true, mode: 0o700 });
      const logStart = await stat(logFile).then(
        (s) => s.size,
        () => 0,
      );
      const rc: RcEndpoint = {
        port: await freePort(),
        user: 'rclone-devbox',
        pass: randomBytes(18).toString('base64url'),
      };
      const args = mountArgs(profile, {
        rcPort: rc.port,
        logFile,
        uid: process.getuid?.() ?? 0,
        gid: process.getgid?.() ?? 0,
      });
      this.log.info(`Mounting ${profile.remote} on ${mountPoint}: rclone ${args.join(' ')}`);
      const child = rclone.spawnDetached(args, { RCLONE_RC_USER: rc.user, RCLONE_RC_PASS: rc.pass });
      const record: Record_ = { ...rc, mountPoint, remote: profile.remote, pid: child.pid, logFile, profile };
      await this.writeRecords([...(await this.readRecords()).filter((r) => r.mountPoint !== mountPoint), record]);
      try {
        await this.waitUntilReady(record, child.exited, logStart, opts);
      } catch (e) {
        await this.undoMount(record, created);
        throw e;
      }
      this.log.info(`Mounted ${profile.remote} on ${mountPoint} (rclone pid ${child.pid}).`);
      return (await this.refresh()).find((m) => m.mountPoint === mountPoint)!;
    });
  }

  /**
   * Ready = the kernel shows the FUSE mount and its root can be listed. Failure = rclone exits, or
   * logs a decisive error, or (when not ready after a moment) a bounded listing of the same path
   * by a separate rclone fails decisively: a mount retrying a dead endpoint says nothing at INFO
   * level until its retries run out.
   */
  private async waitUntilReady(
    r: Record_,
    exited: Promise<number | undefined>,
    logStart: number,
    opts: MountOptions,
  ): Promise<void> {
    const rclone = await this.rclone();
    const started = Date.now();
    const deadline = started + (opts.timeoutMs ?? 30_000);
    let exitCode: number | undefined | null = null;
    void exited.then((code) => (exitCode = code));
    let listing: Promise<string[] | Error> | undefined;
    let outcome: string[] | Error | undefined;
    let diagnosis: RcloneError | undefined;
    let diagnosing = false;
    for (let wait = 5; ; wait = Math.min(wait * 2, 50)) {
      if (opts.signal?.aborted) throw new RcloneError('Cancelled', `Mounting ${r.remote} was cancelled.`);
      if (exitCode !== null)
        throw await this.failureFromLog(
          r,
          logStart,
          `rclone exited${exitCode === undefined ? '' : ` with code ${exitCode}`} before the mount was ready.`,
        );
      if (!listing && (await readRcloneMounts(this.opts.mountinfo)).some((e) => e.mountPoint === r.mountPoint)) {
        listing = readdir(r.mountPoint).then(
          (names) => names,
          (e: Error) => e,
        );
        void listing.then((o) => (outcome = o));
      }
      if (outcome instanceof Error)
        throw await this.failureFromLog(r, logStart, `The mount's root cannot be listed: ${outcome.message}`);
      if (outcome) return outcome.length ? undefined : this.checkBucketExists(r, opts.signal);
      const early = await this.failureFromLog(r, logStart, '');
      if (early.kind !== 'Unknown') throw early;
      if (diagnosis) throw diagnosis;
      if (!diagnosing && Date.now() - started > DIAGNOSE_AFTER_MS) {
        diagnosing = true;
        void listFolder(rclone, r.remote, {
          limit: 1,
          timeoutMs: Math.max(1_000, deadline - Date.now()),
          signal: opts.signal,
        }).catch((e: unknown) => {
          if (isRcloneError(e) && DECISIVE.has(e.kind)) diagnosis = e;
        });
      }
      if (Date.now() > deadline) {
        throw new RcloneError(
          'Timeout',
          `${r.remote} was not ready on ${r.mountPoint} within ${Math.round((opts.timeoutMs ?? 30_000) / 1000)} s.`,
          { detail: early.detail },
        );
      }
      await delay(wait);
    }
  }

  /**
   * rclone mounts a bucket that does not exist as an empty folder (and creates it on the first
   * write): a typo would look like an empty bucket. An empty root is checked against the bucket list.
   */
  private async checkBucketExists(r: Record_, signal?: AbortSignal): Promise<void> {
    const why = await explainNotFound(
      await this.rclone(),
      r.remote,
      new RcloneError('NotFound', `${r.remote} was not found.`),
      signal,
    );
    if (why.kind === 'BucketNotFound') throw why;
  }

  /** Classifies what rclone wrote to its log since this mount started. */
  private async failureFromLog(r: Record_, logStart: number, fallback: string): Promise<RcloneError> {
    const text = await readFile(r.logFile, 'utf8').then(
      (t) => t.slice(logStart),
      () => '',
    );
    const error = classify({
      stderr: text
        .split('\n')
        .filter((l) => /ERROR|Fatal|Failed|error/.test(l))
        .join('\n'),
      target: r.remote,
      secrets: [r.pass],
    });
    if (error.kind === 'NotFound') return explainNotFound(await this.rclone(), r.remote, error);
    if (error.kind === 'Unknown' && fallback)
      return new RcloneError('Unknown', fallback, { detail: error.detail, fix: `See the mount's log: ${r.logFile}` });
    return error;
  }

  private async undoMount(r: Record_, created: string | undefined): Promise<void> {
    await endProcess(r.pid, 5_000, 'mount', r.mountPoint);
    if ((await readRcloneMounts(this.opts.mountinfo)).some((e) => e.mountPoint === r.mountPoint))
      await this.fusermount(r.mountPoint, '-uz');
    if (created) await rmdir(r.mountPoint).catch(() => undefined); // only if still empty
    await this.writeRecords((await this.readRecords()).filter((x) => x.mountPoint !== r.mountPoint));
    await this.refresh();
  }

  /**
   * Unmounts without losing uploads: waits (bounded, with progress) until rclone has uploaded what
   * was written, or refuses saying how many files are pending. `force` skips the wait.
   */
  async unmount(mountPoint: string, opts: UnmountOptions = {}): Promise<void> {
    await withLock(join(this.stateDir, 'locks'), mountPoint, 60_000, async () => {
      const m = (await this.refresh()).find((x) => x.mountPoint === mountPoint);
      if (!m) return;
      if (m.state === 'stale') return this.repairLocked(mountPoint);
      const rc = await this.rc(mountPoint);
      if (!opts.force) {
        if (!rc) {
          throw new RcloneError(
            'UploadsPending',
            `${mountPoint} was mounted by another tool: its pending uploads cannot be counted.`,
            {
              fix: 'Unmount anyway only if nothing was written to it recently.',
            },
          );
        }
        await this.waitForUploads(mountPoint, rc, opts);
      }
      await this.fusermount(mountPoint, '-u');
      if (m.pid !== undefined && !(await waitForExit(m.pid, 10_000, 'mount', mountPoint)))
        await endProcess(m.pid, 5_000, 'mount', mountPoint);
      await this.writeRecords((await this.readRecords()).filter((x) => x.mountPoint !== mountPoint));
      await this.refresh();
      this.log.info(`Unmounted ${mountPoint}.`);
    });
  }

  /**
   * The kernel tells rclone a file was closed (FUSE RELEASE) only after close() has returned, so a
   * file closed just before the unmount may not be queued yet: zero counts only when it holds
   * across a short settle.
   */
  private async waitForUploads(mountPoint: string, rc: RcClient, opts: UnmountOptions): Promise<void> {
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
        throw new RcloneError('Cancelled', `Unmounting ${mountPoint} was cancelled; it is still mounted.`);
      if (Date.now() >= deadline) {
        throw new RcloneError(
          'UploadsPending',
          `${pending} ${pending === 1 ? 'file is' : 'files are'} still uploading from ${mountPoint}; it stays mounted.`,
        );
      }
      await delay(250);
    }
  }

  private async fusermount(mountPoint: string, flag: '-u' | '-uz'): Promise<void> {
    const { env } = await this.rclone();
    const helper = await findFusermount(env);
    const r = await execa(helper, [flag, '--', mountPoint], {
      reject: false,
      timeout: 15_000,
      env,
      extendEnv: false,
      stdin: 'ignore',
    });
    if (r.exitCode === 0) return;
    const stderr = String(r.stderr);
    if (/busy/i.test(stderr))
      throw new RcloneError('MountBusy', `${mountPoint} is in use and was not unmounted.`, { detail: stderr });
    if (!/not found in \/etc\/mtab|not mounted|Invalid argument/i.test(stderr)) {
      throw new RcloneError('Unknown', `${helper} ${flag} ${mountPoint} failed.`, { detail: stderr });
    }
  }

  /** Cleans a dead mount point (lazy unmount) and ends whatever is left of its rclone. */
  async repair(mountPoint: string): Promise<void> {
    await withLock(join(this.stateDir, 'locks'), mountPoint, 60_000, () => this.repairLocked(mountPoint));
  }

  private async repairLocked(mountPoint: string): Promise<void> {
    const r = (await this.readRecords()).find((x) => x.mountPoint === mountPoint);
    if (r) await endProcess(r.pid, 5_000, 'mount', mountPoint);
    if ((await readRcloneMounts(this.opts.mountinfo)).some((e) => e.mountPoint === mountPoint))
      await this.fusermount(mountPoint, '-uz');
    await this.writeRecords((await this.readRecords()).filter((x) => x.mountPoint !== mountPoint));
    await this.refresh();
    this.log.info(`Repaired ${mountPoint}.`);
  }

  /** Repairs a stale mount if need be, then mounts: one call after rclone was killed. */
  async remount(profile: MountProfile, opts: MountOptions = {}): Promise<Mount> {
    const m = (await this.refresh()).find((x) => x.mountPoint === profile.mountPoint);
    if (m?.state === 'stale') await this.repair(profile.mountPoint);
    try {
      return await this.mount(profile, opts);
    } catch (e) {
      if (!isRcloneError(e, 'Stale')) throw e;
      await this.repair(profile.mountPoint); // went stale between our look and the lock
      return this.mount(profile, opts);
    }
  }

  private async readRecords(): Promise<Record_[]> {
    try {
      const parsed = JSON.parse(await readFile(this.stateFile, 'utf8')) as { mounts?: Record_[] };
      return Array.isArray(parsed.mounts) ? parsed.mounts : [];
    } catch {
      return [];
    }
  }

  private writeRecords(records: Record_[]): Promise<void> {
    return writeAtomically(this.stateFile, JSON.stringify({ version: 1, mounts: records }, null, 2) + '\n');
  }

  dispose(): void {
    clearInterval(this.timer);
    this.changed.dispose();
  }
}

/**
 * Does the filesystem at `dir` answer? false for a dead FUSE mount (ENOTCONN) or one that does
 * not answer within 2 s; undefined when it is simply not there.
 */
async function answers(dir: string): Promise<boolean | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((ok) => (timer = setTimeout(() => ok(false), 2_000)));
  const probe = stat(dir).then(
    () => true,
    (e: NodeJS.ErrnoException) => (['ENOTCONN', 'ECONNABORTED', 'EIO'].includes(e.code ?? '') ? false : undefined),
  );
  return Promise.race([probe, timeout]).finally(() => clearTimeout(timer));
}
