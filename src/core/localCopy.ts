// Copy mode: where FUSE is not available (a container without /dev/fuse, a Kubernetes pod, a
// rented GPU container, an edge device), a model version is brought to a local folder instead of
// being mounted. For a read-mostly model folder this is often better anyway: no network on the
// model's load path, no VFS cache to size.
//
// A version is copied into `.<name>.partial` beside its final folder and renamed to its final
// name once complete, so a folder under a version's name is always a whole copy: a link may point
// at it at any time. A copy that is killed continues where it was: rclone skips every file
// already there whole (same size and hash, or size and time where the backend has no hash) and
// copies again the file it was cut in. Space is checked first (free disk against what is still
// to copy), the wait is bounded by progress (a copy that moves no byte for STALL_MS is ended),
// and one copy per destination runs at a time, whoever asks (windows, the CLI). A process killed
// mid-copy does not leave its rclone writing on: rclone reports progress on stderr every 500 ms,
// and with nobody left to read that pipe its next report ends it (SIGPIPE); the lock of the dead
// process is then taken over by the next copy.
import { createHash } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { access, lstat, mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import * as l10n from '@vscode/l10n';
import { RcloneError } from './errors';
import { formatBytes, freeBytes, writeAtomically } from './files';
import { inspectLink, naturalCompare } from './link';
import { withLock } from './lock';
import { fuseDevice, whyNoFuse } from './preflight';
import type { MountProfile } from './profile';
import type { Rclone } from './rclone';

/** A copy that has moved no byte for this long is ended (an endpoint that stopped answering). */
const STALL_MS = 5 * 60_000;
/** Left free on the disk after a copy: a full disk breaks more than the copy. */
const RESERVE_BYTES = 64 * 1024 * 1024;
/** How often rclone reports progress. */
const STATS_INTERVAL = '500ms';

export interface CopyProgress {
  /** Bytes in the destination so far (what was there before this run, and what it copied). */
  bytes: number;
  totalBytes: number;
}

export interface CopyOptions {
  /** Where the lock of the destination lives ($XDG_STATE_HOME/rclone-devbox). */
  stateDir: string;
  signal?: AbortSignal;
  onProgress?: (p: CopyProgress) => void;
  /** rclone's --transfers (default 4, the seed's mount tuning). */
  transfers?: number;
  /** How long a copy may go without progress (default 5 min). */
  stallMs?: number;
}

export interface Copied {
  dest: string;
  bytes: number;
  /** False when a whole copy was there already. */
  copied: boolean;
}

/**
 * Where copy mode keeps the local copies of `profile`'s bucket: its copyDir, else
 * `<folder>/.rclone-devbox/<remote>/<bucket path>` (a `..` in the path never leads out of it).
 */
export function copyRootOf(profile: Pick<MountProfile, 'remote' | 'copyDir'>, folder: string): string {
  if (profile.copyDir) return resolve(profile.copyDir);
  const colon = profile.remote.indexOf(':');
  const parts = [profile.remote.slice(0, colon), ...profile.remote.slice(colon + 1).split('/')];
  return join(folder, '.rclone-devbox', ...parts.filter((p) => p && p !== '.' && p !== '..'));
}

/** `remote:bucket` + `cache_hub_v23` → `remote:bucket/cache_hub_v23` (`remote:` + x → `remote:x`). */
export const remoteJoin = (remote: string, rel: string) =>
  !rel ? remote : remote.endsWith(':') || remote.endsWith('/') ? `${remote}${rel}` : `${remote}/${rel}`;

/**
 * Where copy mode puts `target` (a folder below the profile's mount point, as a plan names it):
 * the same path under the copy root `root`, and its folder in the bucket.
 */
export function copyPlaceOf(
  profile: Pick<MountProfile, 'mountPoint' | 'remote'>,
  root: string,
  target: string,
): { local: string; remote: string } {
  const rel = relative(profile.mountPoint, target);
  return { local: join(root, rel), remote: remoteJoin(profile.remote, rel) };
}

/** `.cache_hub_v23.partial` beside `cache_hub_v23`: where a copy is made until it is whole. */
export const partialOf = (dest: string) => join(dirname(dest), `.${basename(dest)}.partial`);

/** Bytes of the files under `dir` (0 when it is missing); symlinks are not followed. */
export async function sizeOf(dir: string): Promise<number> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  const sizes = await Promise.all(
    entries
      .filter((e) => e.isFile())
      .map((e) =>
        stat(join(folderOf(e), e.name)).then(
          (s) => s.size,
          () => 0,
        ),
      ),
  );
  return sizes.reduce((a, b) => a + b, 0);
}

/** The folder of a recursive readdir's entry (`parentPath` from Node 20.12, `path` before). */
const folderOf = (e: Dirent) => e.parentPath ?? (e as Dirent & { path: string }).path;

const isDir = (p: string) =>
  lstat(p).then(
    (s) => s.isDirectory(),
    () => false,
  );

/** What `rclone size` says of `source`: its bytes and number of files. */
async function remoteSize(
  rclone: Rclone,
  source: string,
  signal?: AbortSignal,
): Promise<{ bytes: number; count: number }> {
  const out = await rclone.run(['size', '--json', '--', source], { signal, timeoutMs: 5 * 60_000, target: source });
  const { bytes, count } = JSON.parse(out) as { bytes: number; count: number };
  return { bytes, count };
}

/** Whether `source`'s backend has a hash rclone can compare with a local file (S3: MD5). */
async function hasHashes(rclone: Rclone, source: string, signal?: AbortSignal): Promise<boolean> {
  const root = source.slice(0, source.indexOf(':') + 1);
  const out = await rclone
    .run(['backend', 'features', '--', root], { signal, timeoutMs: 30_000, target: root })
    .catch(() => '{}');
  const hashes = (JSON.parse(out) as { Hashes?: string[] }).Hashes ?? [];
  return hashes.some((h) => h !== 'none');
}

/**
 * Brings `source` (remote:bucket/cache_hub_v23) to the local folder `dest`: at once when a whole
 * copy is there, else through `.<name>.partial` (continuing one a killed copy left), then renamed.
 * WontFit with the numbers when what is left to copy does not fit on the disk.
 */
export async function copyVersion(rclone: Rclone, source: string, dest: string, opts: CopyOptions): Promise<Copied> {
  dest = resolve(dest);
  if (await isDir(dest)) return { dest, bytes: await sizeOf(dest), copied: false };
  await mkdir(dirname(dest), { recursive: true, mode: 0o755 });
  return withLock(join(opts.stateDir, 'locks'), `copy:${dest}`, 24 * 3600_000, async () => {
    // Made by another process while this one waited for the lock.
    if (await isDir(dest)) return { dest, bytes: await sizeOf(dest), copied: false };
    const partial = partialOf(dest);
    const had = await sizeOf(partial);
    // --checksum only changes how files already there are compared: a fresh copy has none, and
    // rclone checks each transferred file's hash anyway. So the backend is asked only to continue.
    const [size, checksum] = await Promise.all([
      remoteSize(rclone, source, opts.signal),
      had > 0 ? hasHashes(rclone, source, opts.signal) : false,
    ]);
    await checkSpace(source, dest, size.bytes, had);
    await copyInto(rclone, source, partial, size.bytes, had, checksum, opts);
    await rename(partial, dest);
    return { dest, bytes: size.bytes, copied: true };
  });
}

async function checkSpace(source: string, dest: string, total: number, had: number): Promise<void> {
  const todo = Math.max(0, total - had);
  const free = await freeBytes(dirname(dest));
  if (free === undefined || todo + RESERVE_BYTES <= free) return;
  const name = basename(dest);
  throw new RcloneError(
    'WontFit',
    had
      ? l10n.t`${source} holds ${formatBytes(total)}; ${formatBytes(had)} of it is copied, ${formatBytes(todo)} is left, and the disk of ${dirname(dest)} has ${formatBytes(free)} free.`
      : l10n.t`${source} holds ${formatBytes(total)}, and the disk of ${dirname(dest)} has ${formatBytes(free)} free.`,
    {
      fix: l10n.t`Free ${formatBytes(todo + RESERVE_BYTES - free)} there (remove an old local version: not the one a link points at), or put the local copies (copyDir) on a bigger disk. Nothing of ${name} was removed.`,
    },
  );
}

/** `rclone copy source partial`, its JSON stats turned into progress; ended when it stalls. */
async function copyInto(
  rclone: Rclone,
  source: string,
  partial: string,
  total: number,
  had: number,
  checksum: boolean,
  opts: CopyOptions,
): Promise<void> {
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  let stalled = false;
  let moved = -1;
  const stallMs = opts.stallMs ?? STALL_MS;
  let lastMove = Date.now();
  const watch = setInterval(
    () => {
      if (Date.now() - lastMove > stallMs) {
        stalled = true;
        stop.abort();
      }
    },
    Math.min(stallMs, 1_000),
  );
  try {
    await rclone.run(
      [
        'copy',
        '--transfers',
        String(opts.transfers ?? 4),
        '--checkers',
        '8',
        '--low-level-retries',
        '10',
        ...(checksum ? ['--checksum'] : []),
        '--use-json-log',
        '--stats',
        STATS_INTERVAL,
        '--stats-log-level',
        'NOTICE',
        '--',
        source,
        partial,
      ],
      {
        signal: stop.signal,
        timeoutMs: 0, // bounded by progress (the stall watch), not by a size-blind clock
        retries: 3,
        target: source,
        onStderrLine: (line) => {
          const bytes = statsBytes(line);
          if (bytes === undefined) return;
          if (bytes !== moved) {
            moved = bytes;
            lastMove = Date.now();
          }
          opts.onProgress?.({ bytes: Math.min(total, had + bytes), totalBytes: total });
        },
      },
    );
  } catch (e) {
    if (stalled)
      throw new RcloneError('Timeout', l10n.t`Copying ${source} moved no byte for ${Math.round(stallMs / 1000)} s.`, {
        fix: l10n.t('Check the endpoint and the network, then try again: the copy continues where it stopped.'),
      });
    throw e;
  } finally {
    clearInterval(watch);
    opts.signal?.removeEventListener('abort', onAbort);
  }
  opts.onProgress?.({ bytes: total, totalBytes: total });
}

/** The bytes transferred so far from one line of rclone's JSON log, if it is a stats line. */
function statsBytes(line: string): number | undefined {
  if (!line.includes('"stats"')) return undefined;
  try {
    const bytes = (JSON.parse(line) as { stats?: { bytes?: unknown } }).stats?.bytes;
    return typeof bytes === 'number' ? bytes : undefined;
  } catch {
    return undefined;
  }
}

export interface LocalVersion {
  name: string;
  path: string;
  bytes: number;
  /** A copy that was cut off (`.<name>.partial`): continued by the next copy of that version. */
  partial: boolean;
  /** A link points at it: never removed. */
  linked: boolean;
}

/** The local copies under `root` (natural order), their sizes, and which `links` point at them. */
export async function listLocalVersions(root: string, links: readonly string[] = []): Promise<LocalVersion[]> {
  const entries = await readdir(root, { withFileTypes: true }).catch(() => []);
  const targets = new Set((await Promise.all(links.map((l) => inspectLink(l)))).map((i) => i.target));
  const versions = await Promise.all(
    entries
      .filter((e) => e.isDirectory())
      .map(async (e): Promise<LocalVersion | undefined> => {
        const m = /^\.(.+)\.partial$/.exec(e.name);
        if (e.name.startsWith('.') && !m) return undefined;
        const path = join(root, e.name);
        return { name: m ? m[1]! : e.name, path, bytes: await sizeOf(path), partial: !!m, linked: targets.has(path) };
      }),
  );
  return versions
    .filter((v): v is LocalVersion => v !== undefined)
    .sort((a, b) => naturalCompare(a.name, b.name) || Number(a.partial) - Number(b.partial));
}

/**
 * Removes the local copy `path` (or a cut-off one), never one that a link of `links` points at,
 * and only a folder directly under `root`. Returns the bytes freed.
 */
export async function removeLocalVersion(root: string, path: string, links: readonly string[] = []): Promise<number> {
  const abs = resolve(path);
  const rel = relative(resolve(root), abs);
  if (!rel || rel.includes('/') || rel.startsWith('..'))
    throw new RcloneError('ConfigInvalid', l10n.t`${abs} is not a local copy in ${root}.`);
  for (const link of links) {
    if ((await inspectLink(link)).target === abs)
      throw new RcloneError('LinkInTheWay', l10n.t`${link} points at ${abs}: it is not removed.`, {
        fix: l10n.t(
          'Point the link at another version first (Switch Version or `rclone-devbox link`), then remove this one.',
        ),
      });
  }
  const bytes = await sizeOf(abs);
  // Renamed aside first: a reader never sees a version half removed under its name.
  const doomed = join(dirname(abs), `.${basename(abs)}.removing-${process.pid}`);
  await rename(abs, doomed);
  await rm(doomed, { recursive: true, force: true });
  return bytes;
}

// ---- outputs: files written locally, uploaded with `rclone copy` (never sync: nothing in the bucket is deleted) ----

/** What was uploaded: relative path → "size:mtimeMs" when its upload began. */
type Manifest = Record<string, string>;

const manifestFile = (stateDir: string, local: string, remote: string) =>
  join(
    stateDir,
    'uploads',
    `${createHash('sha256')
      .update(`${resolve(local)}\0${remote}`)
      .digest('hex')
      .slice(0, 16)}.json`,
  );

async function snapshot(local: string): Promise<Manifest> {
  const entries = await readdir(local, { recursive: true, withFileTypes: true }).catch(() => []);
  const files: Manifest = {};
  await Promise.all(
    entries
      .filter((e) => e.isFile())
      .map(async (e) => {
        const path = join(folderOf(e), e.name);
        const s = await stat(path).catch(() => undefined);
        if (s) files[relative(local, path)] = `${s.size}:${Math.floor(s.mtimeMs)}`;
      }),
  );
  return files;
}

const readManifest = (file: string): Promise<Manifest> =>
  readFile(file, 'utf8').then(
    (t) => JSON.parse(t) as Manifest,
    () => ({}),
  );

/** Files under `local` written or changed since they were last uploaded to `remote`. */
export async function pendingUploads(local: string, remote: string, stateDir: string): Promise<string[]> {
  const [now, done] = await Promise.all([snapshot(local), readManifest(manifestFile(stateDir, local, remote))]);
  return Object.keys(now)
    .filter((f) => done[f] !== now[f])
    .sort();
}

/**
 * Uploads what is new or changed under `local` to `remote` (rclone copy: nothing is deleted there)
 * and records what was uploaded, as it was when the upload began: a file changed meanwhile stays
 * pending. One upload per folder at a time. Returns how many files were pending.
 */
export async function uploadOutputs(
  rclone: Rclone,
  local: string,
  remote: string,
  opts: { stateDir: string; signal?: AbortSignal; timeoutMs?: number },
): Promise<number> {
  return withLock(join(opts.stateDir, 'locks'), `upload:${resolve(local)}`, 10 * 60_000, async () => {
    const file = manifestFile(opts.stateDir, local, remote);
    const [before, done] = await Promise.all([snapshot(local), readManifest(file)]);
    const pending = Object.keys(before).filter((f) => done[f] !== before[f]).length;
    if (!pending) return 0;
    await rclone.run(['copy', '--low-level-retries', '10', '--', local, remote], {
      signal: opts.signal,
      timeoutMs: opts.timeoutMs ?? 60 * 60_000,
      retries: 3,
      target: remote,
    });
    await writeAtomically(file, JSON.stringify(before) + '\n');
    return pending;
  });
}

/** A bring-up's output folders in copy mode: uploaded now and then while the app runs, and once more at its end. */
export class OutputUploads {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | undefined;

  constructor(
    private readonly rclone: Rclone,
    readonly outputs: ReadonlyArray<{ local: string; remote: string }>,
    private readonly stateDir: string,
  ) {}

  /** Files written or changed since their last upload, in every output folder. */
  async pending(): Promise<number> {
    const counts = await Promise.all(this.outputs.map((o) => pendingUploads(o.local, o.remote, this.stateDir)));
    return counts.reduce((n, files) => n + files.length, 0);
  }

  /** Uploads what is pending now (one run at a time: a call during a run waits for it, then runs). Returns the files uploaded. */
  async flush(opts: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<number> {
    const before = this.running ?? Promise.resolve(0);
    const run = before
      .catch(() => 0)
      .then(async () => {
        let n = 0;
        for (const o of this.outputs)
          n += await uploadOutputs(this.rclone, o.local, o.remote, { stateDir: this.stateDir, ...opts });
        return n;
      });
    this.running = run;
    return run;
  }

  /** Uploads every `ms` until disposed; a failed round is reported and tried again next time. */
  every(ms: number, onError: (e: unknown) => void): void {
    clearInterval(this.timer);
    this.timer = setInterval(() => void this.flush().catch(onError), ms);
    this.timer.unref(); // never what keeps a process alive
  }

  dispose(): void {
    clearInterval(this.timer);
  }
}

/** The copy roots of the profiles that may copy (mode copy or auto) in workspace `folder`. */
export const copyRootsOf = (profiles: readonly MountProfile[], folder: string): string[] => [
  ...new Set(profiles.filter((p) => p.mode === 'copy' || p.mode === 'auto').map((p) => copyRootOf(p, folder))),
];

/** A link's target when it is a whole local copy: its version (its path under the root, e.g. cache_hub_v23), folder, root and size. */
export interface LinkedCopy {
  version: string;
  path: string;
  root: string;
  bytes: number;
}

/** What `link` points at, when that is a local copy under one of `roots` (never a `.partial`); undefined otherwise. */
export async function linkedCopy(link: string, roots: readonly string[]): Promise<LinkedCopy | undefined> {
  const { target } = await inspectLink(link);
  if (!target) return undefined;
  const root = roots.map((r) => resolve(r)).find((r) => target.startsWith(`${r}/`));
  if (
    !root ||
    relative(root, target)
      .split('/')
      .some((p) => p.startsWith('.')) ||
    !(await isDir(target))
  )
    return undefined;
  return { version: relative(root, target), path: target, root, bytes: await sizeOf(target) };
}

/** The copy root of `roots` that holds `path` (the root itself or anything below it); undefined when none does. */
export function copyRootHolding(path: string, roots: readonly string[]): string | undefined {
  const abs = resolve(path);
  return roots
    .map((r) => resolve(r))
    .filter((r) => abs === r || abs.startsWith(`${r}/`))
    .sort((a, b) => b.length - a.length)[0];
}

/**
 * Refuses `target` as a link target under the copy root `root` unless it is a whole local copy: a
 * folder below the root, not the root itself, not a cut-off copy (`.<name>.partial`, nor anything
 * in one), not a missing folder. A link never points at half a version (NotFound, nothing changed).
 */
export async function checkLocalCopy(target: string, root: string): Promise<void> {
  const abs = resolve(target);
  const rel = relative(resolve(root), abs);
  if (!rel)
    throw new RcloneError(
      'NotFound',
      l10n.t`${abs} is the folder of the local copies, not a version in it; nothing was changed.`,
      { fix: l10n.t('Choose one of the versions in it, e.g. cache_hub_v23.') },
    );
  const parts = rel.split('/');
  const cut = parts.findIndex((p) => /^\..+\.partial$/.test(p));
  if (cut >= 0) {
    const name = parts[cut]!.slice(1, -'.partial'.length);
    const whole = join(resolve(root), ...parts.slice(0, cut), name);
    throw new RcloneError(
      'NotFound',
      l10n.t`${abs} is a copy that was cut off (.partial), not a whole version: a link never points at one; nothing was changed.`,
      {
        fix: l10n.t`Bring the workspace up with a task that links ${name}: its copy continues where it stopped and becomes ${whole}; then link that.`,
      },
    );
  }
  if (parts.some((p) => p.startsWith('.')))
    throw new RcloneError('NotFound', l10n.t`${abs} is not a local copy in ${root}; nothing was changed.`);
  const info = await stat(abs).catch(() => undefined);
  if (!info)
    throw new RcloneError('NotFound', l10n.t`${abs} was not found; nothing was changed.`, {
      fix: l10n.t(
        'Choose a version that is copied whole in that folder, or bring the workspace up with a task that links it: the bring-up copies it.',
      ),
    });
  if (!info.isDirectory())
    throw new RcloneError('NotFound', l10n.t`${abs} is a file, not a folder; nothing was changed.`, {
      fix: l10n.t('Choose the folder that holds the model files.'),
    });
}

/** A profile that may copy (mode "copy" or "auto"), and what a bring-up here does with it. */
export interface CopyProfile {
  profile: MountProfile;
  mode: 'copy' | 'auto';
  /** What the bring-up does on this box: copies, or mounts ("auto" where FUSE works). */
  uses: 'copy' | 'mount';
  /** Why, in English (for --json): `the profile's mode is "copy"`, `FUSE is not available: …`, `FUSE is available`, `mounted on …`. */
  reason: string;
  /** The same, as a person reads it (translated). */
  said: string;
  /** Where its local copies are. */
  root: string;
}

/** Why FUSE cannot be used here (English and translated), or undefined when it can. */
async function fuseMissing(env: NodeJS.ProcessEnv): Promise<{ english: string; said: string } | undefined> {
  const e = await whyNoFuse(env);
  if (!e) return undefined;
  const dev = fuseDevice(env);
  const noDevice = await access(dev).then(
    () => false,
    () => true,
  );
  return {
    english: noDevice
      ? `FUSE is not available: ${dev} does not exist`
      : 'FUSE is not installed: neither fusermount3 nor fusermount is on PATH',
    said: e.message.replace(/[.。]$/, ''),
  };
}

/**
 * The folder's profiles whose mode is "copy" or "auto", each with what the bring-up does here and
 * why (the CLI's status, doctor and link commands, the editor's Link Model Version…): "copy" always copies; "auto" mounts where the profile's mount point is mounted or FUSE works
 * (the bring-up's own check), and copies where it does not.
 */
export async function copyProfilesIn(
  all: readonly MountProfile[],
  folder: string,
  env: NodeJS.ProcessEnv,
  mounts: readonly { mountPoint: string; state: string }[] = [],
): Promise<CopyProfile[]> {
  const profiles = all.filter((p) => p.mode === 'copy' || p.mode === 'auto');
  if (!profiles.length) return [];
  const fuse = profiles.some((p) => p.mode === 'auto') ? await fuseMissing(env) : undefined;
  return profiles.map((profile): CopyProfile => {
    const root = copyRootOf(profile, folder);
    if (profile.mode === 'copy')
      return { profile, mode: 'copy', uses: 'copy', reason: `the profile's mode is "copy"`, said: 'mode "copy"', root };
    const mounted = mounts.find((m) => m.mountPoint === profile.mountPoint && m.state === 'mounted');
    if (mounted) {
      const at = profile.mountPoint;
      return { profile, mode: 'auto', uses: 'mount', reason: `mounted on ${at}`, said: l10n.t`mounted on ${at}`, root };
    }
    if (fuse) return { profile, mode: 'auto', uses: 'copy', reason: fuse.english, said: fuse.said, root };
    return {
      profile,
      mode: 'auto',
      uses: 'mount',
      reason: 'FUSE is available',
      said: l10n.t('FUSE is available'),
      root,
    };
  });
}
