// `rclone-devbox versions`, `link` and `rollback`: the workspace's ./cache_hub is a symlink into a
// mount, or in copy mode into the folder of its local copies, switched between model versions
// (core/link.ts does the switching, atomically, and keeps the history). In a workspace whose
// profile copies on this box (mode "copy", or "auto" without FUSE), `versions` also lists the
// versions in the bucket, and `link` copies a version that is only there before linking it (the
// seed flow versions → link → app, without FUSE). Loaded only when one of them runs.
import { lstat } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import * as l10n from '@vscode/l10n';
import { isRcloneError, RcloneError } from '../core/errors';
import { formatBytes } from '../core/files';
import {
  checkTargetOnMount,
  globToRegExp,
  inspectLink,
  linkHistory,
  listVersions,
  naturalCompare,
  relink,
  rollback,
  type Version,
} from '../core/link';
import { listFolder } from '../core/listing';
import {
  checkLocalCopy,
  type Copied,
  copyRootHolding,
  copyRootsOf,
  copyVersion,
  type CopyProgress,
  listLocalVersions,
  partialOf,
  remoteJoin,
} from '../core/localCopy';
import { type Mount, MountRegistry } from '../core/mounts';
import type { Rclone } from '../core/rclone';
import { readWorkspace } from '../core/workspace';
import { DEFAULT_LINK, type Options, usageOf, type Values } from './args';
import { type CopyProfile, copyProfilesOf, outputsOf } from './copies';
import { cliFix, cliMessage } from './fixes';
import type { Io } from './mounts';

/** Bound on listing a bucket's folder (an endpoint that does not answer). */
const LIST_MS = 30_000;

/**
 * The workspace in the current folder in copy mode: where it keeps its local copies (its profiles
 * of mode "copy" or "auto") and the profiles that copy on this box ("auto" only without FUSE, as
 * the bring-up decides); none when it has no such profile, or its settings cannot be read (then
 * only mounts count).
 */
async function copyModeHere(): Promise<CopyMode> {
  const def = await readWorkspace(process.cwd()).catch(() => undefined);
  if (!def) return { roots: [], copying: [], outputs: [] };
  const profiles = await copyProfilesOf(def, process.env);
  const copying = profiles.filter((c) => c.uses === 'copy');
  // The workspace's rclone.configFile, unless the shell already chose one (RCLONE_CONFIG wins, as `up` does).
  if (copying.length && def.configFile && !process.env.RCLONE_CONFIG) process.env.RCLONE_CONFIG = def.configFile;
  const outputs = profiles.flatMap((c) => outputsOf(def, c).map((o) => o.local));
  return { roots: copyRootsOf(def.profiles, def.folder), copying, outputs };
}

interface CopyMode {
  /** The copy roots of the profiles of mode "copy" or "auto". */
  roots: string[];
  /** The profiles that copy on this box. */
  copying: CopyProfile[];
  /** The local folders of the tasks' outputs: never a version. */
  outputs: string[];
}

/** The local folder `path` is a task's output folder or holds one: not a version. */
const holdsOutput = (path: string, outputs: readonly string[]) =>
  outputs.some((o) => o === path || o.startsWith(`${path}/`));

/** The profile that copies into `root` on this box, if one does. */
const copyingInto = (root: string, copying: readonly CopyProfile[]) =>
  copying.find((c) => resolve(c.root) === resolve(root));

/** The folders in the bucket folder `remote` (hidden ones left out); a folder that is not there has none. */
async function bucketFolders(rclone: Rclone, remote: string, signal: AbortSignal): Promise<string[]> {
  try {
    const page = await listFolder(rclone, remote, { only: 'dirs', signal, timeoutMs: LIST_MS });
    return page.entries.filter((e) => e.isDir && !e.name.startsWith('.')).map((e) => e.name);
  } catch (e) {
    if (isRcloneError(e, 'NotFound')) return [];
    throw e;
  }
}

/** A version of a copy root: copied whole here, only in the bucket, or both. */
export interface CopyVersion extends Version {
  /** A whole local copy is at `path`. */
  local: boolean;
  /** Bytes here: the whole copy's, or what a cut-off copy (`partial`) holds; null when nothing is here. */
  bytes: number | null;
  /** Only a cut-off copy (`.<name>.partial`) is here: the next link or up continues it. */
  partial: boolean;
  /** The version's folder in the bucket, when the bucket's listing shows it; null otherwise. */
  remote: string | null;
}

/**
 * The versions of the copy root `root` matching `match`: its whole local copies and, when `c` (the
 * profile copying into it) is given, the folders of its bucket, each once, in natural order. A
 * cut-off copy counts only beside a version in the bucket (it can be continued from there).
 */
async function copyVersions(
  root: string,
  c: CopyProfile | undefined,
  match: RegExp,
  link: string,
  bucket: string[] | undefined,
  outputs: readonly string[],
): Promise<CopyVersion[]> {
  const [all, { target }] = await Promise.all([listLocalVersions(root, [link]), inspectLink(link)]);
  const here = all.filter((x) => !holdsOutput(x.path, outputs));
  const rows = new Map<string, CopyVersion>();
  const remoteOf = (name: string) => (c && bucket?.includes(name) ? remoteJoin(c.profile.remote, name) : null);
  for (const v of here.filter((x) => !x.partial && match.test(x.name)))
    rows.set(v.name, { ...pick(v), local: true, bytes: v.bytes, partial: false, remote: remoteOf(v.name) });
  const versions = (bucket ?? []).filter((n) => match.test(n) && !holdsOutput(join(resolve(root), n), outputs));
  for (const name of versions.filter((n) => !rows.has(n))) {
    const path = join(resolve(root), name);
    const cut = here.find((x) => x.partial && x.name === name);
    rows.set(name, {
      name,
      path,
      linked: path === target,
      local: false,
      bytes: cut ? cut.bytes : null,
      partial: !!cut,
      remote: remoteOf(name),
    });
  }
  return [...rows.values()].sort((a, b) => naturalCompare(a.name, b.name));
}

const pick = ({ name, path, linked }: Version): Version => ({ name, path, linked });

/** `copied (64 KB)`, `only in the bucket`, `only in the bucket (1.0 MB copied so far)`. */
function stateOf(v: CopyVersion): string {
  if (v.local) return l10n.t`copied (${formatBytes(v.bytes ?? 0)})`;
  return v.partial
    ? l10n.t`only in the bucket (${formatBytes(v.bytes ?? 0)} copied so far)`
    : l10n.t('only in the bucket');
}

/** `* cache_hub_v24  copied (32 KB)      /ws/.rclone-devbox/…/cache_hub_v24`, `  cache_hub_v25  only in the bucket  s3:…/cache_hub_v25`. */
function printCopyVersions(versions: readonly CopyVersion[], io: Io): void {
  const states = versions.map(stateOf);
  const name = Math.max(0, ...versions.map((x) => x.name.length));
  const state = Math.max(0, ...states.map((s) => s.length));
  versions.forEach((x, i) =>
    io.out(
      `${x.linked ? '*' : ' '} ${x.name.padEnd(name)}  ${states[i]!.padEnd(state)}  ${x.local ? x.path : x.remote}`,
    ),
  );
}

/** `rclone-devbox versions [<copy root>]` in copy mode: local copies and, where a profile copies, its bucket's versions. */
async function versionsInCopyRoots(
  here: readonly string[],
  { copying, outputs }: CopyMode,
  pattern: string,
  link: string,
  o: Options,
  rclone: () => Promise<Rclone>,
  io: Io,
): Promise<number> {
  const match = globToRegExp(pattern);
  const all: CopyVersion[] = [];
  let failed = false;
  for (const root of here) {
    const c = copyingInto(root, copying);
    let bucket: string[] | undefined;
    if (c) {
      try {
        bucket = await bucketFolders(await rclone(), c.profile.remote, io.signal);
      } catch (e) {
        io.signal.throwIfAborted();
        // The local copies are listed all the same; why the bucket's are missing goes to stderr.
        failed = true;
        const why = isRcloneError(e) ? cliMessage(e.message) : e instanceof Error ? e.message : String(e);
        io.err(l10n.t`The versions in ${c.profile.remote} are not listed (only the local copies): ${why}`);
        const fix = isRcloneError(e) ? cliFix(e, io.context) : '';
        if (fix) io.err(fix);
      }
    }
    const versions = await copyVersions(root, c, match, link, bucket, outputs);
    if (!versions.length && !o.json)
      io.err(
        bucket
          ? l10n.t`No version in ${c!.profile.remote} or ${root} matches "${pattern}".`
          : l10n.t`No local copy in ${root} matches "${pattern}".`,
      );
    all.push(...versions);
  }
  if (o.json) io.out(JSON.stringify(all, null, 2));
  else printCopyVersions(all, io);
  return failed && !all.length ? 1 : 0;
}

/**
 * What `link <arg>` points the link at. In a workspace that copies on this box, a bare name
 * (cache_hub_v24) is a version of the (first) profile that copies, and a version under its copy
 * root that is only in the bucket is copied first (whole, through `.<name>.partial`; Ctrl-C leaves
 * that to be continued and links nothing). Anything else is the path as given, checked as before.
 */
async function linkTarget(
  arg: string,
  { copying, outputs }: CopyMode,
  link: string,
  stateDir: string,
  rclone: () => Promise<Rclone>,
  io: Io,
): Promise<string> {
  const bare = !arg.includes('/') && arg !== '.' && arg !== '..';
  const target = bare && copying.length ? join(resolve(copying[0]!.root), arg) : resolve(arg);
  const root = copyRootHolding(
    target,
    copying.map((c) => c.root),
  );
  const c = root && copyingInto(root, copying);
  if (!root || !c) return target;
  const rel = relative(root, target);
  // The root itself, a cut-off copy, an output folder, or something that is there: checkLocalCopy says what it is.
  if (!rel || rel.split('/').some((p) => p.startsWith('.')) || holdsOutput(target, outputs)) return target;
  if (await lstat(target).catch(() => undefined)) return target;
  const up = dirname(rel) === '.' ? '' : dirname(rel);
  const name = basename(rel);
  const remote = remoteJoin(c.profile.remote, up);
  const r = await rclone();
  const bucket = await bucketFolders(r, remote, io.signal);
  if (!bucket.includes(name)) {
    const where = join(root, up);
    const local = (await listLocalVersions(where)).filter((v) => !v.partial).map((v) => v.name);
    const known = [...new Set([...bucket, ...local])]
      .filter((n) => !holdsOutput(join(where, n), outputs))
      .sort(naturalCompare);
    const shown = known.length > 20 ? `${known.slice(0, 20).join(', ')}, … (${known.length})` : known.join(', ');
    throw new RcloneError(
      'NotFound',
      known.length
        ? l10n.t`There is no version ${name} in ${remote}, nor a local copy of it in ${where} (versions: ${shown}); nothing was changed.`
        : l10n.t`There is no version ${name}: ${remote} and ${where} hold no version at all; nothing was changed.`,
      { fix: l10n.t('`rclone-devbox versions` lists the versions, copied and in the bucket.') },
    );
  }
  const source = remoteJoin(c.profile.remote, rel);
  const status = io.status;
  const t0 = performance.now();
  let copied: Copied;
  try {
    status?.(l10n.t`copying ${source}…`);
    copied = await copyVersion(r, source, target, {
      stateDir,
      signal: io.signal,
      onProgress: status && ((p) => status(copyLine(source, p))),
    });
  } catch (e) {
    if (io.signal.aborted)
      throw new RcloneError(
        'Cancelled',
        l10n.t`Copying ${source} was cancelled; ${link} was not changed. What was copied stays in ${partialOf(target)}: the next link (or up) continues it.`,
      );
    throw e;
  } finally {
    status?.(''); // the progress line goes: what follows starts on a clean line
  }
  const secs = l10n.t`${((performance.now() - t0) / 1000).toFixed(1)} s`;
  io.out(
    copied.copied
      ? l10n.t`copied ${source} → ${target} (${formatBytes(copied.bytes)} in ${secs})`
      : l10n.t`${target} is copied whole already (${formatBytes(copied.bytes)})`,
  );
  if (io.signal.aborted)
    throw new RcloneError('Cancelled', l10n.t`Cancelled: ${target} is copied whole, and ${link} was not changed.`);
  return target;
}

/** `copying s3:…/cache_hub_v24: 40% · 12 MB of 30 MB` */
function copyLine(source: string, p: CopyProgress): string {
  const pct = p.totalBytes ? Math.floor((100 * p.bytes) / p.totalBytes) : 100;
  return l10n.t`copying ${source}: ${pct}% · ${formatBytes(p.bytes)} of ${formatBytes(p.totalBytes)}`;
}

/** The innermost mount whose mount point is `path` or one of its parents. */
function holder(path: string, mounts: readonly Mount[]): Mount | undefined {
  return mounts
    .filter((m) => m.mountPoint === '/' || path === m.mountPoint || path.startsWith(`${m.mountPoint}/`))
    .sort((a, b) => b.mountPoint.length - a.mountPoint.length)[0];
}

/** Why a mount that is not 'mounted' cannot be listed; nothing inside it is touched (a stuck mount never answers). */
function unusable(m: Mount): RcloneError {
  const { mountPoint: at, remote } = m;
  switch (m.state) {
    case 'not answering':
      return new RcloneError(
        'NotMounted',
        l10n.t`The mount at ${at} (${remote}) is not answering (its rclone is alive but stuck or stopped).`,
        {
          fix: l10n.t`Wait until it answers again (a stopped rclone: kill -CONT ${m.pid ?? '<pid>'}), then try again.`,
        },
      );
    case 'mounting':
      return new RcloneError('NotMounted', l10n.t`The mount at ${at} (${remote}) is still mounting.`, {
        fix: l10n.t('Wait until it is mounted, then try again.'),
      });
    default:
      return new RcloneError('NotMounted', l10n.t`The mount at ${at} (${remote}) is stale (its rclone is gone).`);
  }
}

export async function linkCommand(
  command: 'versions' | 'link' | 'rollback',
  [arg]: string[],
  o: Options,
  v: Values,
  rclone: () => Promise<Rclone>,
  io: Io,
): Promise<number> {
  const registry = new MountRegistry(rclone, { log: io.log });
  const link = v.link ?? DEFAULT_LINK;
  const { stateDir } = registry;
  const here = await copyModeHere();
  const { roots } = here;
  // The target must be a whole local copy in the workspace's copy root, or a folder on a live
  // mount (the mount holding it is what a fix names).
  const checkTarget = async (target: string) => {
    const root = copyRootHolding(target, roots);
    if (root) return checkLocalCopy(target, root);
    const mounts = await registry.refresh();
    const m = holder(await registry.canonical(target).catch(() => target), mounts) ?? holder(target, mounts);
    if (m) io.context.dir = m.mountPoint;
    await checkTargetOnMount(target, mounts);
  };
  switch (command) {
    case 'versions': {
      const pattern = v.pattern ?? 'cache_hub*';
      const inRoots = arg === undefined ? roots : roots.filter((r) => r === resolve(arg));
      if (arg === undefined && !roots.length) {
        io.err(
          l10n.t(
            '{0}: {1}. {2}',
            command,
            l10n.t`missing <mountpoint> (${process.cwd()} has no local copies: no profile in copy mode)`,
            usageOf(command),
          ),
        );
        return 2;
      }
      if (inRoots.length) return versionsInCopyRoots(inRoots, here, pattern, link, o, rclone, io);
      const root = resolve(arg!);
      const m = holder(await registry.canonical(root).catch(() => root), await registry.refresh());
      if (m) io.context.dir = m.mountPoint;
      if (m && m.state !== 'mounted') throw unusable(m);
      const versions = await listVersions(root, { pattern, link });
      if (o.json) {
        io.out(JSON.stringify(versions, null, 2));
        return 0;
      }
      if (!versions.length) {
        io.err(
          m
            ? l10n.t`No folder in ${root} matches "${pattern}".`
            : l10n.t`No folder in ${root} matches "${pattern}" (nothing is mounted there).`,
        );
        return 0;
      }
      printVersions(versions, io);
      return 0;
    }
    case 'link': {
      const target = await linkTarget(arg!, here, link, stateDir, rclone, io);
      const before = o['move-aside'] ? await inspectLink(link) : undefined;
      const r = await relink(link, target, { stateDir, moveAside: o['move-aside'], checkTarget });
      if (!r.changed) {
        io.out(l10n.t`${link} already points at ${target}`);
        return 0;
      }
      const was = r.previous
        ? l10n.t` (was ${r.previous})`
        : r.movedAside
          ? before?.kind === 'file'
            ? l10n.t` (the file that was there is now ${r.movedAside})`
            : l10n.t` (the folder that was there is now ${r.movedAside})`
          : '';
      io.out(`${link} → ${target}${was}`);
      return 0;
    }
    case 'rollback': {
      const r = await rollback(link, { stateDir, checkTarget });
      const more = (await linkHistory(link, stateDir)).length;
      io.out(`${link} → ${r.target}${r.previous ? l10n.t` (was ${r.previous})` : ''}`);
      if (!more) io.err(l10n.t('No earlier target is left to roll back to after this one.'));
      return 0;
    }
  }
}

/** `* cache_hub_v24  /mnt/…/cache_hub_v24`: names lined up, * on the linked one. */
function printVersions(versions: readonly Version[], io: Io): void {
  const width = Math.max(0, ...versions.map((x) => x.name.length));
  for (const x of versions) io.out(`${x.linked ? '*' : ' '} ${x.name.padEnd(width)}  ${x.path}`);
}
