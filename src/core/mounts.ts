// The mount registry: the one source of truth for mount state. It reads /proc/self/mountinfo
// (every rclone FUSE mount on the box, whoever started it) and the records of the mounts we started
// (records.ts), asks each mount whether it answers without ever blocking (liveness.ts), and fires
// onDidChange when the picture changes. Learning state never spawns a process and never writes.
import { join, resolve } from 'node:path';
import * as l10n from '@vscode/l10n';
import { CacheWatch } from './cacheHealth';
import { Emitter, type Disposable, type Event, type Logger, silentLogger } from './events';
import { blank, isOurs, Lifecycle } from './lifecycle';
import { type CredentialTrouble, CredentialWatch, type Liveness, Prober } from './liveness';
import { withLock } from './lock';
import { type MountEntry, readRcloneMounts } from './mountinfo';
import { canonicalMountPoint } from './mountPoint';
import { processAlive } from './processes';
import { checkProfile, type MountProfile } from './profile';
import { RcClient } from './rc';
import type { Rclone } from './rclone';
import { type MountRecord, RecordStore } from './records';
import type { UnmountOptions } from './unmount';

export type { UnmountOptions } from './unmount';

export interface Mount {
  mountPoint: string;
  /** "remote:bucket/path" */
  remote: string;
  /**
   * `mounting`: our rclone runs but the kernel does not show the mount yet. `stale`: its rclone is
   * gone ("Transport endpoint is not connected"). `not answering`: its rclone is alive but stopped
   * or stuck; never "repaired" by killing it.
   */
  state: 'mounted' | 'stale' | 'mounting' | 'not answering';
  /** Started by another tool (seed script, systemd): no rc, no pending-upload count. */
  external: boolean;
  /** Files written but not yet uploaded (queued + in progress); 0 for external mounts. */
  pendingUploads: number;
  /** The VFS cache's disk is full: writes fail until space is freed. */
  outOfSpace: boolean;
  /** Files the VFS cache failed to store or upload. */
  erroredFiles: number;
  /**
   * The endpoint no longer takes the credentials this mount's rclone holds (it keeps running, and
   * every request to the bucket fails): `expired` (short-lived credentials ran out), `refused`
   * (keys revoked or wrong). Absent when nothing says so; only for our mounts that answer.
   */
  credentials?: CredentialTrouble;
  pid?: number;
  logFile?: string;
  profile?: MountProfile;
}

/** What mount() returns: the mount, and whether this call started it (or found it mounted). */
export type Mounted = Mount & { started: boolean };

export interface MountOptions {
  signal?: AbortSignal;
  /** Bound on waiting for the mount to become ready (default 30 s). */
  timeoutMs?: number;
}

export type RemountOptions = MountOptions & Pick<UnmountOptions, 'onProgress'>;

/** Where records, logs and locks live: $XDG_STATE_HOME/rclone-devbox. */
export const defaultStateDir = (env = process.env) =>
  join(env.XDG_STATE_HOME || join(process.env.HOME || '/tmp', '.local', 'state'), 'rclone-devbox');

export class MountRegistry implements Disposable {
  private readonly changed = new Emitter<readonly Mount[]>();
  readonly onDidChange: Event<readonly Mount[]> = this.changed.event;
  private snapshot: readonly Mount[] = [];
  private fingerprint = '';
  private timer: NodeJS.Timeout | undefined;
  private pidTimer: NodeJS.Timeout | undefined;
  private watching = false;
  private running: Promise<readonly Mount[]> | undefined;
  private again: Promise<readonly Mount[]> | undefined;
  readonly records: RecordStore;
  private readonly lifecycle = new Lifecycle(this);
  private readonly prober = new Prober();
  private readonly caches = new CacheWatch();
  private readonly credentials = new CredentialWatch();
  /** How many changes operations have noted (see note()). */
  private notes = 0;
  /** Paths as callers gave them → canonical, so find() answers for `/mnt/x/` or a symlinked parent. */
  private readonly aliases = new Map<string, string>();
  readonly log: Logger;

  /**
   * `rclone` may be a function that finds it on first need: reading state never needs rclone, so
   * an editor can show mounts without spawning anything.
   */
  constructor(
    private readonly rcloneSource: Rclone | (() => Promise<Rclone>),
    private readonly opts: { stateDir?: string; log?: Logger; mountinfo?: string } = {},
  ) {
    this.records = new RecordStore(join(this.stateDir, 'mounts'));
    this.log = opts.log ?? silentLogger;
  }

  rclone(): Promise<Rclone> {
    return typeof this.rcloneSource === 'function' ? this.rcloneSource() : Promise.resolve(this.rcloneSource);
  }

  get mountinfo(): string | undefined {
    return this.opts.mountinfo;
  }

  get stateDir(): string {
    return this.opts.stateDir ?? defaultStateDir();
  }

  private get locks(): string {
    return join(this.stateDir, 'locks');
  }

  /** The last known mounts (see refresh()). */
  get mounts(): readonly Mount[] {
    return this.snapshot;
  }

  /** The mount on `mountPoint` (any spelling that canonical() has seen), from the last snapshot. */
  find(mountPoint: string): Mount | undefined {
    const abs = resolve(mountPoint);
    const canonical = this.aliases.get(abs) ?? abs;
    return this.snapshot.find((m) => m.mountPoint === canonical);
  }

  /** The canonical form of a mount point (see mountPoint.ts); remembered for find(). */
  async canonical(mountPoint: string): Promise<string> {
    const canonical = await canonicalMountPoint(mountPoint, this.opts.mountinfo);
    this.aliases.set(resolve(mountPoint), canonical);
    return canonical;
  }

  /**
   * Re-reads mountinfo, the records and the state of each mount; fires onDidChange if anything
   * changed. Calls made while one runs share the next run (never more than one queued).
   */
  refresh(): Promise<readonly Mount[]> {
    if (!this.running) {
      this.running = this.read().finally(() => (this.running = undefined));
      return this.running;
    }
    this.again ??= this.running.then(
      () => ((this.again = undefined), this.refresh()),
      () => ((this.again = undefined), this.refresh()),
    );
    return this.again;
  }

  private async read(): Promise<readonly Mount[]> {
    const notes = this.notes;
    const [entries, records] = await Promise.all([readRcloneMounts(this.opts.mountinfo), this.records.list()]);
    const mounts = await Promise.all(
      entries.map((e) =>
        this.describe(
          e,
          records.find((r) => r.mountPoint === e.mountPoint),
        ),
      ),
    );
    for (const r of records) {
      if (!entries.some((e) => e.mountPoint === r.mountPoint) && isOurs(r))
        mounts.push(await this.describe(undefined, r));
    }
    // An operation noted a change while this look ran: it saw the world before it, so look again.
    if (notes !== this.notes) return this.read();
    const seen = new Set(mounts.map((m) => m.mountPoint));
    this.caches.keep(seen);
    this.credentials.keep(seen);
    this.publish(mounts);
    return this.snapshot;
  }

  /**
   * The mount on one (canonical) mount point, looked at now, without asking any other mount: what
   * an operation on that point needs, however many (or however stuck) other mounts the box has.
   */
  async look(mountPoint: string): Promise<Mount | undefined> {
    const [entries, record] = await Promise.all([readRcloneMounts(this.opts.mountinfo), this.records.get(mountPoint)]);
    const entry = entries.find((e) => e.mountPoint === mountPoint);
    if (!entry && !(record && isOurs(record))) return undefined;
    return this.describe(entry, record);
  }

  /** A mount as the kernel lists it (`entry`) and as our record knows it (`r`); either may be missing. */
  private async describe(entry: MountEntry | undefined, r: MountRecord | undefined): Promise<Mount> {
    if (!r) {
      const state = shown(await this.prober.probe(entry!.mountPoint));
      return { ...blank, mountPoint: entry!.mountPoint, remote: entry!.source, external: true, state };
    }
    const m: Mount = {
      ...blank,
      mountPoint: r.mountPoint,
      remote: r.remote,
      state: 'stale',
      pid: r.pid,
      logFile: r.logFile,
      profile: r.profile,
    };
    if (!isOurs(r)) return m; // its rclone is gone: kept for repair (its pid, its log)
    if (!entry) return { ...m, state: 'mounting' };
    const { liveness, stats, lastError } = await this.prober.ask(r.pid, new RcClient(r));
    m.state = shown(liveness);
    if (stats) {
      m.pendingUploads = stats.uploadsInProgress + stats.uploadsQueued;
      const [cache, credentials] = await Promise.all([
        this.caches.check(r, stats),
        this.credentials.check(r, lastError).catch(() => undefined),
      ]);
      Object.assign(m, cache);
      if (credentials) m.credentials = credentials;
    }
    return m;
  }

  /** Puts what an operation just learnt about one mount into the snapshot (no I/O), and tells listeners. */
  note(mountPoint: string, m: Mount | undefined): void {
    this.notes++;
    const rest = this.snapshot.filter((x) => x.mountPoint !== mountPoint);
    this.publish(m ? [...rest, m] : rest);
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
   * Keeps the snapshot current while someone listens: the next look starts `intervalMs` after the
   * last one ended (never two at once, however slow a mount is to answer). No process is spawned.
   */
  watch(intervalMs = 2_000): Disposable {
    this.stopWatching();
    this.watching = true;
    // A killed rclone is news at once (a stale mount hangs whoever reads it): between looks, the
    // pids of our live mounts are checked every 250 ms, a /proc read each, and a death looks again.
    this.pidTimer = setInterval(() => {
      if (this.snapshot.some((m) => m.pid && m.state !== 'stale' && !m.external && !processAlive(m.pid)))
        void this.refresh().catch(() => undefined);
    }, 250);
    this.pidTimer.unref();
    const tick = () => {
      this.timer = setTimeout(() => {
        this.refresh()
          .catch((e: Error) => this.log.warn(`Mount state refresh failed: ${e.message}`))
          .finally(() => this.watching && tick());
      }, intervalMs);
      this.timer.unref();
    };
    tick();
    return { dispose: () => this.stopWatching() };
  }

  private stopWatching(): void {
    this.watching = false;
    clearTimeout(this.timer);
    clearInterval(this.pidTimer);
  }

  /** The rc API of a mount we started and whose rclone runs (undefined for external mounts). */
  async rc(mountPoint: string): Promise<RcClient | undefined> {
    const r = await this.records.get(await this.canonical(mountPoint));
    return r && isOurs(r) ? new RcClient(r) : undefined;
  }

  /**
   * Mounts `profile` and returns once the mount answers. Already mounted (same remote): returns it,
   * with `started: false`. On failure nothing is left behind: the process is ended, the mount point
   * unmounted, and every folder we created for it removed.
   */
  async mount(profile: MountProfile, opts: MountOptions = {}): Promise<Mounted> {
    checkProfile(profile);
    const p = { ...profile, mountPoint: await this.canonical(profile.mountPoint) };
    return withLock(this.locks, p.mountPoint, (opts.timeoutMs ?? 30_000) + 15_000, () => this.lifecycle.mount(p, opts));
  }

  /**
   * Unmounts without losing uploads: waits (bounded, with progress) until rclone has uploaded what
   * was written, or refuses saying how many files are pending. `force` skips the wait. A mount
   * whose rclone does not answer is refused, never killed.
   */
  async unmount(mountPoint: string, opts: UnmountOptions = {}): Promise<void> {
    const canonical = await this.canonical(mountPoint);
    await withLock(this.locks, canonical, 60_000, () => this.lifecycle.unmount(canonical, opts));
  }

  /**
   * Cleans a dead mount point (lazy unmount) and ends whatever is left of its rclone. Only what is
   * dead: a live mount is refused (Unmount or Remount is what it needs, and they wait for uploads).
   */
  async repair(mountPoint: string): Promise<void> {
    const canonical = await this.canonical(mountPoint);
    await withLock(this.locks, canonical, 60_000, () => this.lifecycle.repair(canonical));
  }

  /**
   * Mounts `profile` whatever is there now: a dead mount is repaired first, a live one of ours is
   * replaced. Atomic for a live mount: the new profile is tried (flags, remote) before anything is
   * touched, uploads are waited for, and if the new mount still fails the old one is mounted again.
   */
  async remount(profile: MountProfile, opts: RemountOptions = {}): Promise<Mounted> {
    checkProfile(profile);
    const p = { ...profile, mountPoint: await this.canonical(profile.mountPoint) };
    const bound = (opts.timeoutMs ?? 30_000) + 10 * 60_000;
    return withLock(this.locks, p.mountPoint, bound, () => this.lifecycle.remount(p, opts));
  }

  dispose(): void {
    this.stopWatching();
    this.changed.dispose();
  }
}

/** What is wrong with a mount's VFS cache, in a few words (undefined: nothing). */
export function cacheTrouble(m: Pick<Mount, 'outOfSpace' | 'erroredFiles'>): string | undefined {
  if (m.outOfSpace) return l10n.t('cache disk full: writes fail');
  if (m.erroredFiles)
    return m.erroredFiles === 1
      ? l10n.t('1 file failed in the cache')
      : l10n.t('{0} files failed in the cache', m.erroredFiles);
  return undefined;
}

/** What is wrong with a mount's credentials, in a few words (undefined: nothing is known to be). */
export function credentialsTrouble(m: Pick<Mount, 'credentials'>): string | undefined {
  if (m.credentials === 'expired') return l10n.t('credentials expired');
  if (m.credentials === 'refused') return l10n.t('credentials refused');
  return undefined;
}

const shown = (l: Liveness): Mount['state'] => (l === 'answers' ? 'mounted' : l === 'dead' ? 'stale' : 'not answering');
