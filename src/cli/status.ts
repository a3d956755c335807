// `rclone-devbox status`: what a boot script or a person wants to see about this box and the
// current folder: every rclone mount (state, pending uploads, cache trouble and, for ours, how much
// of its VFS cache is used), the folder's links and whether they lead into a live mount or to a
// whole local copy, its profiles in copy mode (what they do here and why, their local versions, the
// outputs waiting for upload), and its app. It changes nothing (app.ts drops the records of apps that have ended), never locates or runs
// rclone, and bounds each question put to a mount (its rc, a stat of a link's target), so a stuck
// mount cannot hold it up.
import * as l10n from '@vscode/l10n';
import { findApps } from '../core/app';
import { FIXES, isRcloneError, type RcloneError } from '../core/errors';
import { checkTargetOnMount, inspectLink, type LinkInfo } from '../core/link';
import { holderOf } from '../core/mountPoint';
import { cacheTrouble, credentialsTrouble, type Mount, MountRegistry } from '../core/mounts';
import { formatBytes } from '../core/files';
import { copyRootHolding, type LinkedCopy, linkedCopy } from '../core/localCopy';
import type { Rclone } from '../core/rclone';
import { readWorkspace } from '../core/workspace';
import type { Options } from './args';
import {
  type CopyProfile,
  copyProfilesOf,
  folderLinks,
  localVersions,
  type OutputFolder,
  outputsOf,
  pendingUploadsOf,
  shownPath,
  usesText,
  versionRows,
} from './copies';
import { cliFix, describe } from './fixes';
import { cacheTroubleInEnglish, credentialsOf, type Io, tellCredentials } from './mounts';

/**
 * What `status --json` prints. Field names are stable within a `version`; a value that does not
 * apply is null, never missing. Nothing secret is in it: a mount's rc credentials, an app's
 * command line and environment are left out.
 */
export interface StatusJson {
  version: 1;
  /** The folder whose links and app are shown (absolute). */
  folder: string;
  mounts: StatusMount[];
  links: StatusLink[];
  /** The folder's profiles of mode "copy" or "auto" (none: every profile mounts). */
  copies: StatusCopies[];
  apps: StatusApp[];
}

export interface StatusMount {
  mountPoint: string;
  /** "remote:bucket/path" */
  remote: string;
  state: Mount['state'];
  /** Started by rclone-devbox (false: another tool's mount, which has no rc of ours). */
  ours: boolean;
  /** Our rclone's pid; null for another tool's mount. */
  pid: number | null;
  /** Files written but not uploaded yet (always 0 for another tool's mount: it cannot be asked). */
  pendingUploads: number;
  /** What is wrong with its VFS cache, in a few words; null when nothing is. */
  cacheTrouble: string | null;
  /**
   * The endpoint no longer takes the credentials its rclone holds (every request to the bucket
   * fails): `expired` (short-lived credentials ran out), `refused` (keys revoked or wrong); null when
   * nothing says so (always null for another tool's mount, or one that does not answer).
   */
  credentials: 'expired' | 'refused' | null;
  /** Its VFS cache, when it is ours, its rclone answers and it has one (cache mode not "off"). */
  cache: StatusCache | null;
  /** Our rclone's log; null for another tool's mount. */
  logFile: string | null;
}

export interface StatusCache {
  /** The cache folder (rclone's --cache-dir). */
  dir: string;
  /** Bytes rclone counts as used (it recounts about once a minute). */
  bytesUsed: number;
  /** Its --vfs-cache-max-size; null when unlimited. */
  maxBytes: number | null;
}

export interface StatusLink {
  /** The link (absolute). */
  path: string;
  /** What is there: a symlink, nothing, or a real folder or file in the link's place. */
  kind: LinkInfo['kind'];
  /** Where the symlink points (absolute); null when it is not one. */
  target: string | null;
  /** The mount point holding the target; null when no mount does. */
  mountPoint: string | null;
  /** The target is a folder on a mount that answers, or a whole local copy (copy mode). */
  live: boolean;
  /** Why it is not live; null when it is. */
  problem: string | null;
  /** Copy mode: the whole local copy the link points at; null when it points at none. */
  localCopy: StatusLinkedCopy | null;
}

export interface StatusLinkedCopy {
  /** The folder of the local copies it is in (a profile's copy root). */
  root: string;
  /** Its path under the root, e.g. cache_hub_v23 (outputs/box-1 for an output folder). */
  version: string;
  bytes: number;
}

export interface StatusCopies {
  /** The profile's "remote:bucket/path" and mount point. */
  remote: string;
  mountPoint: string;
  /** The profile's mode. */
  mode: 'copy' | 'auto';
  /** What a bring-up does on this box: copies, or mounts ("auto" where FUSE works). */
  uses: 'copy' | 'mount';
  /** Why, in English: `the profile's mode is "copy"`, `FUSE is not available: /dev/fuse does not exist`, `FUSE is available`, `mounted on /mnt/x`. */
  reason: string;
  /** The folder of its local copies. */
  root: string;
  /** The local versions in it, natural order; a cut-off copy (`partial`) is continued by the next copy of its version. */
  versions: StatusLocalVersion[];
  /** The task outputs written under the root (copy mode), and their files not uploaded yet. */
  outputs: StatusOutput[];
  /** Files of all its outputs waiting for upload. */
  pendingUploads: number;
}

export interface StatusLocalVersion {
  name: string;
  path: string;
  bytes: number;
  partial: boolean;
  /** One of the folder's links points at it. */
  linked: boolean;
}

export interface StatusOutput {
  /** The link the app writes through (absolute). */
  link: string;
  /** The local folder the files are written to. */
  local: string;
  /** Where they are uploaded: "remote:bucket/path". */
  remote: string;
  pendingUploads: number;
}

export interface StatusApp {
  pid: number;
  /** The task's label; null when it had none. */
  label: string | null;
  url: string | null;
  port: number | null;
  /** `listening` on its port; `starting`: it runs but does not listen yet; `running`: it names no port. */
  state: 'listening' | 'starting' | 'running';
  cwd: string;
  logFile: string;
  /** ISO 8601. */
  startedAt: string;
}

/** How long one mount's rc may take to say how full its cache is. */
const RC_MS = 2_000;

export async function statusCommand(o: Options, locate: () => Promise<Rclone>, io: Io): Promise<number> {
  const registry = new MountRegistry(locate, { log: io.log });
  const folder = process.cwd();
  const failures: RcloneError[] = [];
  // A folder whose settings cannot be read still gets its mounts and apps shown; the exit status says it.
  const def = await readWorkspace(folder, o.config).catch((e: unknown) => {
    if (!isRcloneError(e)) throw e;
    failures.push(e);
    return undefined;
  });
  const mounts = await registry.refresh();
  const copyProfiles = await copyProfilesOf(def, process.env, mounts);
  const outputs = new Map(copyProfiles.map((c) => [c, outputsOf(def!, c)]));
  const [mountRows, copies, apps] = await Promise.all([
    Promise.all(mounts.map((m) => mountStatus(registry, m))),
    Promise.all(copyProfiles.map((c) => copiesStatus(c, outputs.get(c)!, folderLinks(folder, def), registry.stateDir))),
    findApps(registry.stateDir).then((all) =>
      // The folder's apps: those that run in it or in a folder below it (a task's "cwd").
      all.filter((a) => a.cwd === folder || a.cwd.startsWith(`${folder}/`)).map(appStatus),
    ),
  ]);
  const roots = copyProfiles.map((c) => c.root);
  const outputLinks = new Map(copies.flatMap((c) => c.outputs.map((x) => [x.link, x.pendingUploads] as const)));
  const linkRows = await Promise.all(folderLinks(folder, def).map((l) => linkStatus(l, mounts, roots)));
  const links = linkRows.map((r) => r.link);
  const status: StatusJson = { version: 1, folder, mounts: mountRows, links, copies, apps };
  if (o.json) io.out(JSON.stringify(status, null, 2));
  else {
    // The JSON's words are English for scripts; a person reads them in their language.
    const said = {
      troubles: mounts.map((m) => cacheTrouble(m) ?? null),
      problems: linkRows.map((r) => r.problem),
      uses: copyProfiles.map(usesText),
      outputLinks,
    };
    for (const line of text(status, said)) io.out(line);
  }
  if (mounts.some(cacheTrouble)) io.err(cliFix({ kind: 'CacheFull', fix: FIXES.CacheFull }));
  // Each remote whose credentials a mount found expired or refused: what it is, and the fix.
  tellCredentials(mounts, io);
  for (const e of failures) io.err(describe(e, false, io.context).trimEnd());
  return failures.length ? 1 : 0;
}

async function mountStatus(registry: MountRegistry, m: Mount): Promise<StatusMount> {
  return {
    mountPoint: m.mountPoint,
    remote: m.remote,
    state: m.state,
    ours: !m.external,
    pid: m.pid ?? null,
    pendingUploads: m.pendingUploads,
    cacheTrouble: cacheTroubleInEnglish(m) ?? null,
    credentials: credentialsOf(m),
    cache: !m.external && m.state === 'mounted' ? await cacheOf(registry, m) : null,
    logFile: m.logFile ?? null,
  };
}

/** A copy profile's local versions and outputs, as status --json says them. */
async function copiesStatus(
  c: CopyProfile,
  outputs: readonly OutputFolder[],
  links: readonly string[],
  stateDir: string,
): Promise<StatusCopies> {
  const [versions, pending] = await Promise.all([
    localVersions(c.root, links, outputs),
    Promise.all(outputs.map((x) => pendingUploadsOf(x, stateDir))),
  ]);
  return {
    remote: c.profile.remote,
    mountPoint: c.profile.mountPoint,
    mode: c.mode,
    uses: c.uses,
    reason: c.reason,
    root: c.root,
    versions: versions.map(({ name, path, bytes, partial, linked }) => ({ name, path, bytes, partial, linked })),
    outputs: outputs.map((x, i) => ({ link: x.link, local: x.local, remote: x.remote, pendingUploads: pending[i]! })),
    pendingUploads: pending.reduce((a, b) => a + b, 0),
  };
}

interface RcVfsStats {
  diskCache?: { bytesUsed?: number; path?: string };
  opt?: { CacheMaxSize?: number };
}

/** The mount's VFS cache as its rclone reports it (rc vfs/stats); null when it has none or does not answer. */
async function cacheOf(registry: MountRegistry, m: Mount): Promise<StatusCache | null> {
  const rc = await registry.rc(m.mountPoint);
  const stats = await rc?.call<RcVfsStats>('vfs/stats', {}, { timeoutMs: RC_MS }).catch(() => undefined);
  const disk = stats?.diskCache;
  if (!disk?.path) return null;
  const max = stats?.opt?.CacheMaxSize;
  return {
    dir: m.profile?.cacheDir || cacheRoot(disk.path, m.remote),
    bytesUsed: disk.bytesUsed ?? 0,
    maxBytes: max !== undefined && max >= 0 ? max : null,
  };
}

/**
 * rclone keeps a mount's files in <cache dir>/vfs/<remote>/<path>: the cache dir is what the user
 * chose (or rclone's default), so that is what is shown. Another layout: the folder as rclone said.
 */
function cacheRoot(path: string, remote: string): string {
  const [name = '', root = ''] = remote.split(/:(.*)/s);
  const suffix = ['', 'vfs', name, ...root.split('/').filter(Boolean)].join('/');
  return path.endsWith(suffix) && path.length > suffix.length ? path.slice(0, -suffix.length) : path;
}

/** A link's status, and its problem as a person reads it (the JSON's `problem` stays English). */
async function linkStatus(
  path: string,
  mounts: readonly Mount[],
  roots: readonly string[],
): Promise<{ link: StatusLink; problem: string | null }> {
  const info = await inspectLink(path);
  const base = { path: info.link, kind: info.kind, target: info.target ?? null };
  const not = (problem: string, said: string, mountPoint: string | null = null) => ({
    link: { ...base, mountPoint, live: false, problem, localCopy: null },
    problem: said,
  });
  if (info.kind !== 'symlink' || !info.target) {
    if (info.kind === 'missing') return not('no link here', l10n.t('no link here'));
    if (info.kind === 'directory') return not('a real folder, not a link', l10n.t('a real folder, not a link'));
    if (info.kind === 'file') return not('a real file, not a link', l10n.t('a real file, not a link'));
    return not(`a real ${info.kind}, not a link`, l10n.t`a real ${info.kind}, not a link`);
  }
  // Copy mode: a whole local copy is as good as a folder on a live mount; a cut-off one is not.
  if (copyRootHolding(info.target, roots)) {
    const copy: LinkedCopy | undefined = await linkedCopy(path, roots);
    if (copy) {
      const localCopy = { root: copy.root, version: copy.version, bytes: copy.bytes };
      return { link: { ...base, mountPoint: null, live: true, problem: null, localCopy }, problem: null };
    }
    return not('not a whole local copy', l10n.t('not a whole local copy'));
  }
  const holder = holderOf(info.target, mounts);
  try {
    // The holder's state first, then a bounded stat of the target: a stuck mount is never waited on.
    await checkTargetOnMount(info.target, mounts);
    return {
      link: { ...base, mountPoint: holder?.mountPoint ?? null, live: true, problem: null, localCopy: null },
      problem: null,
    };
  } catch (e) {
    if (!isRcloneError(e)) throw e;
    if (!holder) return not('not on a mount', l10n.t('not on a mount'));
    const at = holder.mountPoint;
    if (holder.state !== 'mounted')
      return not(`its mount is ${holder.state}`, l10n.t`its mount is ${stateText(holder.state)}`, at);
    if (e.kind === 'NotFound')
      return not('the target is not a folder on the mount', l10n.t('the target is not a folder on the mount'), at);
    return not('its mount does not answer', l10n.t('its mount does not answer'), at);
  }
}

function appStatus(a: Awaited<ReturnType<typeof findApps>>[number]): StatusApp {
  return {
    pid: a.pid,
    label: a.label ?? null,
    url: a.url ?? null,
    port: a.port ?? null,
    state: a.port === undefined ? 'running' : a.listening ? 'listening' : 'starting',
    cwd: a.cwd,
    logFile: a.logFile,
    startedAt: new Date(a.startedAt).toISOString(),
  };
}

// ---- the text form ----

/** Columns a cell takes on a terminal: a CJK character (a translated word) takes two. */
const WIDE = /[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]/g;
const width = (cell: string) => cell.length + (cell.match(WIDE)?.length ?? 0);

/**
 * Rows with their columns padded to line up (the last column is never padded), indented under a
 * heading; the last cell of a `loose` row sets no width.
 */
function table(rows: string[][], loose: ReadonlySet<string[]> = new Set()): string[] {
  const widths: number[] = [];
  for (const row of rows)
    row.forEach((cell, i) => {
      // A loose row's last cell runs on as one phrase: it sets no column's width.
      if (loose.has(row) && i === row.length - 1) return;
      widths[i] = Math.max(widths[i] ?? 0, width(cell));
    });
  const pad = (c: string, i: number) => c + ' '.repeat(widths[i]! - width(c));
  return rows.map((row) => `  ${row.map((c, i) => (i < row.length - 1 ? pad(c, i) : c)).join('  ')}`);
}

/** A mount's state as a person reads it. */
function stateText(state: Mount['state']): string {
  switch (state) {
    case 'mounted':
      return l10n.t('mounted');
    case 'stale':
      return l10n.t('stale');
    case 'mounting':
      return l10n.t('mounting');
    case 'not answering':
      return l10n.t('not answering');
  }
}

/** An app's state as a person reads it. */
function appStateText(state: StatusApp['state']): string {
  switch (state) {
    case 'listening':
      return l10n.t('listening');
    case 'starting':
      return l10n.t('starting');
    case 'running':
      return l10n.t('running');
  }
}

function cacheText(c: StatusCache): string {
  const used = formatBytes(c.bytesUsed);
  return c.maxBytes === null
    ? l10n.t`cache ${used} in ${c.dir}`
    : l10n.t`cache ${used} of ${formatBytes(c.maxBytes)} in ${c.dir}`;
}

/** How a link's target is described: live on a mount, a local copy (or output folder) and its size, or its problem. */
function linkState(l: StatusLink, problem: string | null, pending: number | undefined): string {
  if (l.localCopy)
    return pending === undefined
      ? l10n.t`(local copy, ${formatBytes(l.localCopy.bytes)})`
      : l10n.t`(local outputs, ${pending} pending)`;
  return l.live ? l10n.t`live (mount ${String(l.mountPoint)})` : (problem ?? '');
}

/** The copies section: per profile what it does here and why, its local versions, its outputs' pending uploads. */
function copiesText(s: StatusJson, uses: readonly string[]): string[] {
  const lines: string[] = [];
  s.copies.forEach((c, i) => {
    lines.push(`  ${l10n.t`${c.remote}: ${uses[i]!} in ${c.root}`}`);
    if (!c.versions.length) lines.push(`    ${l10n.t('no local version yet')}`);
    lines.push(...versionRows(c.versions, '    '));
    lines.push(
      ...table(
        c.outputs.map((x) => [`${shownPath(s.folder, x.link)} → ${x.remote}`, l10n.t`${x.pendingUploads} pending`]),
      ).map((l) => `  ${l}`),
    );
  });
  return lines;
}

/** The text form; `said` holds the mounts' cache trouble, the links' problems and the copy modes in the user's language. */
function text(
  s: StatusJson,
  said: {
    troubles: (string | null)[];
    problems: (string | null)[];
    uses: string[];
    outputLinks: ReadonlyMap<string, number>;
  },
): string[] {
  const lines = [l10n.t('mounts')];
  if (!s.mounts.length) lines.push(`  ${l10n.t('no rclone mounts')}`);
  lines.push(
    ...table(
      s.mounts.map((m, i) => [
        m.mountPoint,
        m.remote,
        (m.state === 'mounted' && credentialsTrouble({ credentials: m.credentials ?? undefined })) ||
          stateText(m.state),
        m.ours ? l10n.t`ours, pid ${String(m.pid)}` : l10n.t('external'),
        m.ours ? l10n.t`${m.pendingUploads} pending` : '-',
        [m.cache && cacheText(m.cache), said.troubles[i]].filter(Boolean).join('; '),
      ]),
    ),
  );
  lines.push(l10n.t('links'));
  // A local copy reads as one phrase, its size right after it: ./cache_hub → …/cache_hub_v23 (local copy, 64 KB).
  const copyRows = new Set<string[]>();
  const linkRows = s.links.map((l, i) => {
    const state = linkState(l, said.problems[i] ?? null, said.outputLinks.get(l.path));
    if (!l.localCopy) return [shownPath(s.folder, l.path), ...(l.target ? [`→ ${l.target}`] : []), state];
    const row = [shownPath(s.folder, l.path), `→ ${l.target} ${state}`];
    copyRows.add(row);
    return row;
  });
  lines.push(...table(linkRows, copyRows));
  if (s.copies.length) lines.push(l10n.t('copies'), ...copiesText(s, said.uses));
  lines.push(l10n.t('app'));
  if (!s.apps.length) lines.push(`  ${l10n.t('no app running')}`);
  lines.push(
    ...table(
      s.apps.map((a) => [
        a.label ?? l10n.t('(no label)'),
        `pid ${a.pid}`,
        a.url ?? (a.port === null ? '-' : l10n.t`port ${a.port}`),
        appStateText(a.state),
        l10n.t`log ${a.logFile}`,
      ]),
    ),
  );
  return lines.map((l) => l.trimEnd());
}
