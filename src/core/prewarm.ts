// Prewarming a mount, so the app's first look at its model folder does not wait on the network.
//
// The seed script ran `rclone lsl` on key paths: a separate process, one HEAD per object, and it
// warms nothing (the mount has its own directory cache, which lsl never touches). Here:
// - metadata: the mount's own rc `vfs/refresh recursive=true` fills the mount's directory cache
//   with one recursive listing (ListR: 1,000 objects per request on S3), after which a traversal
//   asks the bucket nothing until --dir-cache-time runs out. A mount of another tool has no rc of
//   ours: its tree is walked through the mount (bounded parallelism), the slow way.
// - content: files are read through a `--vfs-cache-mode full` mount, one sequential reader per
//   file, a few files at once, so rclone keeps them in its VFS cache; files already whole in the
//   cache are skipped, and what would not fit (the cache's limit, the free disk) is refused.
import { open, readdir, readFile } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import * as l10n from '@vscode/l10n';
import { classify, RcloneError } from './errors';
import { formatBytes, freeBytes, writeAtomically } from './files';
import { withLock } from './lock';
import { holderOf } from './mountPoint';
import type { Mount, MountRegistry } from './mounts';
import { type CacheMode, DEFAULT_DIR_CACHE_TIME, durationMs } from './profile';
import type { RcClient } from './rc';
import { keyOf } from './records';

/** What warming needs to know of a mount. */
export interface WarmTarget {
  mountPoint: string;
  /** "remote:bucket/path" as mounted. */
  remote: string;
  state: Mount['state'];
  /** The mount's rc (a mount of ours whose rclone runs); without it metadata is warmed by a walk. */
  rc?: RcClient;
  /** The rclone pid: warmth belongs to one rclone (a remount starts cold). */
  pid?: number;
  /** As the profile says (the rc's answer wins when there is one). */
  cacheMode?: CacheMode;
  cacheDir?: string;
}

export interface MetadataProgress {
  /** Paths whose listing is complete, of `total`. */
  done: number;
  total: number;
  /** Folders and files the mount knows so far. */
  dirs: number;
  files: number;
}

export interface MetadataResult {
  dirs: number;
  files: number;
  ms: number;
  /** `rc`: the mount's own directory cache was filled; `walk`: the mount was walked (another tool's mount). */
  way: 'rc' | 'walk';
}

export interface WarmOptions {
  signal?: AbortSignal;
  /** Bound on the whole operation (default 10 min). */
  timeoutMs?: number;
}

/** Paths given relative to the mount point (or absolute inside it) as the rc wants them: "" is the root. */
export function relativePaths(mountPoint: string, paths: readonly string[]): string[] {
  const out = new Set<string>();
  for (const p of paths.length ? paths : ['']) {
    const rel = relative(mountPoint, resolve(mountPoint, p));
    if (rel === '..' || rel.startsWith(`..${sep}`))
      throw new RcloneError('NotFound', l10n.t`${p} is not inside the mount on ${mountPoint}.`, {
        fix: l10n.t`Give a folder below ${mountPoint}, e.g. cache_hub.`,
      });
    out.add(rel);
  }
  return [...out];
}

function ensureLive(t: WarmTarget): void {
  if (t.state === 'mounted') return;
  const mp = t.mountPoint;
  const message =
    t.state === 'stale'
      ? l10n.t`${mp} is stale: there is nothing to warm.`
      : t.state === 'not answering'
        ? l10n.t`${mp} is not answering: there is nothing to warm.`
        : l10n.t`${mp} is mounting: there is nothing to warm.`;
  throw new RcloneError('NotMounted', message, {
    fix: t.state === 'stale' ? l10n.t('Repair the mount first (Remount / Repair).') : undefined,
  });
}

/** `what` is said by the caller, already translated. */
const cancelled = (what: string) => new RcloneError('Cancelled', l10n.t`Cancelled: ${what}.`);

/** Fills the mount's directory cache for `paths` (relative to the mount point; none: all of it). */
export async function warmMetadata(
  t: WarmTarget,
  paths: readonly string[],
  opts: WarmOptions & { onProgress?: (p: MetadataProgress) => void } = {},
): Promise<MetadataResult> {
  ensureLive(t);
  const rel = relativePaths(t.mountPoint, paths);
  const started = performance.now();
  const counts = t.rc
    ? await refreshThroughRc(t.rc, rel, opts, t.remote)
    : await walk(
        rel.map((p) => join(t.mountPoint, p)),
        opts,
      );
  return { ...counts, ms: performance.now() - started, way: t.rc ? 'rc' : 'walk' };
}

interface JobStatus {
  finished: boolean;
  success: boolean;
  error: string;
  output?: { result?: Record<string, string> };
}

/**
 * One `vfs/refresh recursive=true` per path, all at once (rclone bounds its own listing by
 * --checkers), each an rc job: polled for progress, and stopped (job/stop) on cancel or time-out
 * rather than left running inside rclone.
 */
async function refreshThroughRc(
  rc: RcClient,
  paths: string[],
  opts: WarmOptions & { onProgress?: (p: MetadataProgress) => void },
  remote: string,
): Promise<{ dirs: number; files: number }> {
  const deadline = Date.now() + (opts.timeoutMs ?? 600_000);
  const jobs = await Promise.all(
    paths.map(async (dir) => {
      const { jobid } = await rc.call<{ jobid: number }>('vfs/refresh', {
        ...(dir ? { dir } : {}),
        recursive: 'true',
        _async: 'true',
      });
      return { dir, jobid, done: false };
    }),
  );
  // Stopped jobs end once their request in flight returns: waited for (bounded), so that a
  // cancel means no listing of ours is still running in rclone.
  const stopAll = async () => {
    const running = jobs.filter((j) => !j.done);
    await Promise.all(running.map((j) => rc.call('job/stop', { jobid: j.jobid }).catch(() => undefined)));
    for (const until = Date.now() + 5_000; running.length && Date.now() < until; await sleep(20)) {
      const s = await rc.call<JobStatus>('job/status', { jobid: running[0]!.jobid }).catch(() => undefined);
      if (!s || s.finished) running.shift();
    }
  };
  try {
    // Polled every 10 ms for the first second (a small folder's listing is done in tens of ms, and
    // a poll is two loopback calls), then every 100 ms.
    const started = Date.now();
    for (;;) {
      for (const job of jobs.filter((j) => !j.done)) {
        const s = await rc.call<JobStatus>('job/status', { jobid: job.jobid });
        if (!s.finished) continue;
        job.done = true;
        const result = s.output?.result?.[job.dir] ?? s.error;
        if (!s.success || (result && result !== 'OK')) throw refreshFailed(job.dir, result || s.error, remote);
      }
      const stats = await rc.vfsStats();
      const done = jobs.filter((j) => j.done).length;
      opts.onProgress?.({ done, total: jobs.length, dirs: stats.dirs, files: stats.files });
      if (done === jobs.length) return { dirs: stats.dirs, files: stats.files };
      if (opts.signal?.aborted) throw cancelled(l10n.t('warming the directory cache'));
      if (Date.now() > deadline) {
        const listed = paths.join(', ');
        throw new RcloneError(
          'Timeout',
          listed
            ? l10n.t`Listing ${listed} took longer than allowed.`
            : l10n.t('Listing the mount took longer than allowed.'),
          { fix: l10n.t('Warm fewer folders at once, or check the endpoint (Show Log).') },
        );
      }
      await sleep(Date.now() - started < 1_000 ? 10 : 100, opts.signal);
    }
  } finally {
    await stopAll();
  }
}

function refreshFailed(dir: string, result: string, remote: string): RcloneError {
  // The job's error is rclone's own words: an endpoint that is gone or slow reads as it does
  // everywhere else (Unreachable, Timeout…), not as Unknown; "no such host" is not a missing folder.
  const cause = classify({ stderr: result, target: remote });
  if (cause.kind !== 'Unknown' && cause.kind !== 'NotFound') return cause;
  if (/not found|does not exist|no such/i.test(result))
    return new RcloneError('NotFound', l10n.t`There is no folder "${dir}" in the mount.`, { detail: result });
  return new RcloneError('Unknown', l10n.t`Listing "${dir || '/'}" for the directory cache failed.`, {
    detail: result,
  });
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((ok) => {
    const done = () => {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      ok();
    };
    const t = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });

/**
 * A mount without our rc: read every folder through the mount, a few at a time (each readdir
 * holds one of libuv's four threads while the mount asks the bucket). Files are what it finds.
 */
async function walk(
  roots: string[],
  opts: WarmOptions & { onProgress?: (p: MetadataProgress) => void },
): Promise<{ dirs: number; files: number }> {
  const deadline = Date.now() + (opts.timeoutMs ?? 600_000);
  const queue = [...roots];
  let dirs = 0;
  let files = 0;
  let active = 0;
  let failure: unknown;
  await new Promise<void>((finish) => {
    const next = () => {
      if (failure === undefined && opts.signal?.aborted) failure = cancelled(l10n.t('walking the mount'));
      if (failure === undefined && Date.now() > deadline)
        failure = new RcloneError('Timeout', l10n.t('Walking the mount took longer than allowed.'));
      while (failure === undefined && active < WALKERS && queue.length) {
        const dir = queue.shift()!;
        active++;
        readdir(dir, { withFileTypes: true })
          .then((entries) => {
            dirs++;
            for (const e of entries) {
              if (e.isDirectory()) queue.push(join(dir, e.name));
              else files++;
            }
            opts.onProgress?.({ done: dirs, total: dirs + queue.length + active - 1, dirs, files });
          })
          .catch((e: NodeJS.ErrnoException) => {
            failure ??=
              e.code === 'ENOENT' && roots.includes(dir)
                ? new RcloneError('NotFound', l10n.t`There is no folder ${dir}.`)
                : e;
          })
          .finally(() => {
            active--;
            next();
          });
      }
      if (active === 0) finish();
    };
    next();
  });
  if (failure !== undefined) throw failure;
  return { dirs, files };
}

/** Folders read at once by a walk: fewer than libuv's four threads, so other file work still gets one. */
const WALKERS = 3;

// ---- content ----

export interface ContentProgress {
  bytesDone: number;
  bytesTotal: number;
  filesDone: number;
  filesTotal: number;
  /** Files skipped because the cache already holds all of them. */
  skipped: number;
  /** Bytes per second so far. */
  rate: number;
  /** Time left at that rate (undefined until something was read). */
  etaMs?: number;
}

export interface ContentResult {
  files: number;
  bytes: number;
  skipped: number;
  skippedBytes: number;
  ms: number;
}

/** Files read at once (the same as the seed's --transfers 4 would be; each holds one libuv thread). */
export const CONTENT_READERS = 3;
/** Each reader asks for this much at a time: big sequential reads, so rclone fetches each byte once. */
const READ_SIZE = 1 << 20;

/**
 * Reads the files under `paths` through a full-cache mount so rclone keeps them in its VFS cache.
 * Refuses (before reading anything) when the mount does not keep content, or when the files would
 * not fit the cache's limit or its disk.
 */
export async function warmContent(
  t: WarmTarget,
  paths: readonly string[],
  opts: WarmOptions & { onProgress?: (p: ContentProgress) => void; readers?: number } = {},
): Promise<ContentResult> {
  ensureLive(t);
  const started = performance.now();
  const options = await vfsOptions(t);
  if (options.cacheMode !== 'full')
    throw new RcloneError(
      'NeedsFullCache',
      t.rc
        ? l10n.t`${t.mountPoint} is mounted with cache mode "${options.cacheMode ?? 'unknown'}": it does not keep what is read, so warming content would fetch it for nothing.`
        : l10n.t`${t.mountPoint} was mounted by another tool: whether it keeps what is read (cache mode "full") cannot be told.`,
    );
  const rel = relativePaths(t.mountPoint, paths);
  const files = await listFiles(t, rel, opts);
  const cacheDir = t.cacheDir ?? defaultVfsCacheDir();
  const cached = await Promise.all(files.map((f) => isCached(cacheDir, t, f)));
  const todo = files.filter((_, i) => !cached[i]);
  const skippedBytes = sum(files.filter((_, i) => cached[i]).map((f) => f.size));
  await checkFits(t, cacheDir, options.maxSize, sum(files.map((f) => f.size)), sum(todo.map((f) => f.size)), rel);

  const progress: ContentProgress = {
    bytesDone: 0,
    bytesTotal: sum(todo.map((f) => f.size)),
    filesDone: 0,
    filesTotal: todo.length,
    skipped: files.length - todo.length,
    rate: 0,
  };
  let lastReport = 0;
  const report = (force = false) => {
    const now = performance.now();
    if (!force && now - lastReport < 200) return;
    lastReport = now;
    const s = (now - started) / 1000;
    progress.rate = s > 0 ? progress.bytesDone / s : 0;
    progress.etaMs =
      progress.rate > 0 ? ((progress.bytesTotal - progress.bytesDone) / progress.rate) * 1000 : undefined;
    opts.onProgress?.({ ...progress });
  };
  report(true);
  const deadline = Date.now() + (opts.timeoutMs ?? 6 * 3_600_000);
  const queue = [...todo];
  const readOne = async (path: string) => {
    const fh = await open(path, 'r');
    try {
      const buf = Buffer.allocUnsafe(READ_SIZE);
      for (let pos = 0; ;) {
        if (opts.signal?.aborted) throw cancelled(l10n.t('warming file contents'));
        if (Date.now() > deadline)
          throw new RcloneError('Timeout', l10n.t('Warming file contents took longer than allowed.'));
        const { bytesRead } = await fh.read(buf, 0, READ_SIZE, pos);
        if (!bytesRead) break;
        pos += bytesRead;
        progress.bytesDone += bytesRead;
        report();
      }
    } finally {
      await fh.close();
    }
    progress.filesDone++;
  };
  const readers = Array.from({ length: Math.max(1, opts.readers ?? CONTENT_READERS) }, async () => {
    for (let f = queue.shift(); f; f = queue.shift()) await readOne(f.path);
  });
  const results = await Promise.allSettled(readers);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    queue.length = 0;
    throw failed.reason;
  }
  report(true);
  return {
    files: todo.length,
    bytes: progress.bytesDone,
    skipped: progress.skipped,
    skippedBytes,
    ms: performance.now() - started,
  };
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

/**
 * Every file under `paths` and its size, from one recursive listing through the mount's rc
 * (`operations/list`, ListR where the backend has it). Not from stat() through the mount: on a
 * full-cache mount each stat of a file is a HEAD request, and FUSE makes them one at a time.
 */
async function listFiles(
  t: WarmTarget,
  paths: string[],
  opts: WarmOptions,
): Promise<Array<{ path: string; size: number }>> {
  const lists = await Promise.all(
    paths.map(async (p) => {
      const r = await t
        .rc!.call<{ list?: Array<{ Path: string; Size: number }> }>(
          'operations/list',
          { fs: t.remote, remote: p, opt: { recurse: true, noModTime: true, noMimeType: true, filesOnly: true } },
          { timeoutMs: opts.timeoutMs ?? 600_000, signal: opts.signal },
        )
        .catch((e: RcloneError) => {
          if (opts.signal?.aborted) throw cancelled(l10n.t('listing the files to warm'));
          throw /not found|doesn't exist|does not exist/i.test(e.detail)
            ? new RcloneError('NotFound', l10n.t`There is no folder "${p}" in the mount.`, { detail: e.detail })
            : e;
        });
      // Paths are relative to the mounted root (fs), not to `p`.
      return (r.list ?? []).map((e) => ({ path: join(t.mountPoint, e.Path), size: e.Size }));
    }),
  );
  return lists.flat();
}

const RC_CACHE_MODES: CacheMode[] = ['off', 'minimal', 'writes', 'full'];

/** The mount's cache mode, cache size limit (bytes; undefined: none) and --dir-cache-time, from its rc when it has one. */
export async function vfsOptions(
  t: Pick<WarmTarget, 'rc' | 'cacheMode'>,
): Promise<{ cacheMode?: CacheMode; maxSize?: number; dirCacheTimeMs?: number }> {
  if (!t.rc) return { cacheMode: t.cacheMode };
  const o = await t.rc.call<{ vfs?: { CacheMode?: number; CacheMaxSize?: number; DirCacheTime?: number } }>(
    'options/get',
  );
  const v = o.vfs ?? {};
  return {
    cacheMode: v.CacheMode === undefined ? t.cacheMode : RC_CACHE_MODES[v.CacheMode],
    maxSize: v.CacheMaxSize !== undefined && v.CacheMaxSize >= 0 ? v.CacheMaxSize : undefined,
    dirCacheTimeMs: v.DirCacheTime === undefined ? undefined : v.DirCacheTime / 1e6,
  };
}

/** rclone's --cache-dir default: $RCLONE_CACHE_DIR, else $XDG_CACHE_HOME/rclone, else ~/.cache/rclone. */
export const defaultVfsCacheDir = (env: NodeJS.ProcessEnv = process.env): string =>
  env.RCLONE_CACHE_DIR || join(env.XDG_CACHE_HOME || join(env.HOME || '/tmp', '.cache'), 'rclone');

/**
 * Whether rclone's VFS cache holds all of a file: its metadata file
 * (<cache dir>/vfsMeta/<remote>/<path>, rclone 1.60's layout) has the file's size and ranges that
 * cover it. Any doubt (another layout, a remote rclone names differently) counts as not cached:
 * reading a cached file again costs no network, only time.
 */
async function isCached(cacheDir: string, t: WarmTarget, f: { path: string; size: number }): Promise<boolean> {
  if (f.size === 0) return true; // nothing to fetch
  const [name, root = ''] = t.remote.split(/:(.*)/s) as [string, string?];
  const meta = join(cacheDir, 'vfsMeta', name, root, relative(t.mountPoint, f.path));
  try {
    const m = JSON.parse(await readFile(meta, 'utf8')) as { Size?: number; Rs?: Array<{ Pos: number; Size: number }> };
    if (m.Size !== f.size) return false;
    let covered = 0;
    for (const r of [...(m.Rs ?? [])].sort((a, b) => a.Pos - b.Pos)) {
      if (r.Pos > covered) return false;
      covered = Math.max(covered, r.Pos + r.Size);
    }
    return covered >= f.size;
  } catch {
    return false;
  }
}

async function checkFits(
  t: WarmTarget,
  cacheDir: string,
  maxSize: number | undefined,
  all: number,
  todo: number,
  paths: string[],
): Promise<void> {
  const what = paths.map((p) => p || '/').join(', ');
  if (maxSize !== undefined && all > maxSize)
    throw new RcloneError(
      'WontFit',
      l10n.t`${what} holds ${formatBytes(all)}; the VFS cache of ${t.mountPoint} is limited to ${formatBytes(maxSize)}, so warming it would evict what it just read.`,
    );
  const free = await freeBytes(cacheDir);
  if (free !== undefined && todo > free)
    throw new RcloneError(
      'WontFit',
      l10n.t`${what} needs ${formatBytes(todo)} more in the VFS cache; the disk of ${cacheDir} has ${formatBytes(free)} free.`,
    );
}

// ---- how long warmth lasts ----

/** What was warmed on one mount, and until when; kept in <stateDir>/warm/<key>.json. */
interface WarmRecord {
  mountPoint: string;
  /** The rclone that holds the warm cache; another pid means a remount, and a cold cache. */
  pid?: number;
  /** Path (relative to the mount point) → when its listing was read and when rclone drops it (ms since the epoch). */
  paths: Record<string, Omit<Warmth, 'path'>>;
}

export interface Warmth {
  path: string;
  warmedAt: number;
  /** When rclone drops the listings read then (warmedAt + --dir-cache-time). */
  until: number;
}

const warmFile = (stateDir: string, mountPoint: string) => join(stateDir, 'warm', `${keyOf(mountPoint)}.json`);

async function readWarm(file: string): Promise<WarmRecord | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as WarmRecord;
  } catch {
    return undefined;
  }
}

/** Notes that `paths` of the mount were warmed now (under a lock: windows and the CLI may warm at once). */
export async function recordWarmth(
  stateDir: string,
  t: Pick<WarmTarget, 'mountPoint' | 'pid'>,
  paths: readonly string[],
  dirCacheTimeMs = durationMs(DEFAULT_DIR_CACHE_TIME)!,
): Promise<void> {
  const file = warmFile(stateDir, t.mountPoint);
  await withLock(join(stateDir, 'locks'), `warm:${t.mountPoint}`, 10_000, async () => {
    const old = await readWarm(file);
    const kept = old && old.pid === t.pid ? old.paths : {};
    const now = Date.now();
    const warmed = relativePaths(t.mountPoint, paths).map((p) => [p, { warmedAt: now, until: now + dirCacheTimeMs }]);
    const record: WarmRecord = {
      mountPoint: t.mountPoint,
      pid: t.pid,
      paths: { ...kept, ...Object.fromEntries(warmed) },
    };
    await writeAtomically(file, JSON.stringify(record));
  });
}

/** The warm paths of a mount and until when they stay warm (nothing once its rclone changed or the time ran out). */
export async function warmth(stateDir: string, t: Pick<WarmTarget, 'mountPoint' | 'pid'>): Promise<Warmth[]> {
  const r = await readWarm(warmFile(stateDir, t.mountPoint));
  if (!r || r.mountPoint !== t.mountPoint || r.pid !== t.pid) return [];
  const now = Date.now();
  return Object.entries(r.paths)
    .map(([path, w]) => ({ path, ...w }))
    .filter((w) => w.until > now)
    .sort((a, b) => a.path.localeCompare(b.path));
}

// ---- from a path on the box ----

/** rclone's default --dir-cache-time, what a mount of another tool most likely has. */
const RCLONE_DIR_CACHE_MS = 5 * 60_000;

/**
 * The mount that holds `dir` (a mount point or a folder inside one; the deepest mount wins) and
 * `dir` relative to it. Compared as paths: nothing inside a possibly stuck mount is touched.
 */
export async function mountHolding(
  registry: MountRegistry,
  dir: string,
): Promise<{ target: WarmTarget; path: string } | undefined> {
  const abs = resolve(dir);
  const mounts = await registry.refresh();
  const canonical = await registry.canonical(abs).catch(() => abs);
  // Looked up as given and canonical (a symlinked parent resolved, as mount points are); the deeper mount wins.
  const [c, a] = [holderOf(canonical, mounts), holderOf(abs, mounts)];
  const m = c && (!a || c.mountPoint.length >= a.mountPoint.length) ? c : a;
  if (!m) return undefined;
  const within = m === c ? canonical : abs;
  return { target: await targetOf(registry, m), path: relative(m.mountPoint, within) };
}

export async function targetOf(registry: MountRegistry, m: Mount): Promise<WarmTarget> {
  return {
    mountPoint: m.mountPoint,
    remote: m.remote,
    state: m.state,
    pid: m.pid,
    rc: m.external ? undefined : await registry.rc(m.mountPoint),
    cacheMode: m.profile?.cacheMode,
    cacheDir: m.profile?.cacheDir,
  };
}

export interface PrewarmResult {
  target: WarmTarget;
  metadata: MetadataResult;
  content?: ContentResult;
  /** When the warmed listings expire. */
  until: number;
}

/**
 * Warms `paths` of a mount: metadata always, content when asked; and notes it, so every window
 * and the CLI can tell how long it stays warm.
 */
export async function prewarm(
  registry: MountRegistry,
  target: WarmTarget,
  paths: readonly string[],
  opts: WarmOptions & {
    content?: boolean;
    onMetadata?: (p: MetadataProgress) => void;
    onContent?: (p: ContentProgress) => void;
  } = {},
): Promise<PrewarmResult> {
  const metadata = await warmMetadata(target, paths, { ...opts, onProgress: opts.onMetadata });
  const { dirCacheTimeMs = RCLONE_DIR_CACHE_MS } = await vfsOptions(target);
  await recordWarmth(registry.stateDir, target, paths, dirCacheTimeMs);
  const content = opts.content ? await warmContent(target, paths, { ...opts, onProgress: opts.onContent }) : undefined;
  return { target, metadata, content, until: Date.now() + dirCacheTimeMs };
}
