// Copy mode in the CLI: which profiles of the folder copy (mode "copy", or "auto" where FUSE is
// missing) and why, where their local copies are, the task outputs written locally and how many of
// their files wait for upload; and the commands `copies` (list and remove local versions) and
// `upload` (send the task's outputs up now). status, doctor and the link commands use the helpers.
import { stat } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import * as l10n from '@vscode/l10n';
import { planOf } from '../core/bringup';
import { isRcloneError, RcloneError } from '../core/errors';
import { formatBytes } from '../core/files';
import {
  copyPlaceOf,
  type CopyProfile,
  copyProfilesIn,
  type LocalVersion,
  listLocalVersions,
  pendingUploads,
  removeLocalVersion,
  uploadOutputs,
} from '../core/localCopy';
import type { Mount } from '../core/mounts';
import { MountRegistry } from '../core/mounts';
import type { Rclone } from '../core/rclone';
import { chooseTask, inFolder, profileForTask, readWorkspace, type WorkspaceDefinition } from '../core/workspace';
import type { Options, Values } from './args';
import { cliFix, cliMessage } from './fixes';
import type { Io } from './mounts';

export type { CopyProfile };

/** The folder's profiles in copy or auto mode, and what a bring-up here does with each (see copyProfilesIn). */
export const copyProfilesOf = (
  def: WorkspaceDefinition | undefined,
  env: NodeJS.ProcessEnv,
  mounts: readonly Pick<Mount, 'mountPoint' | 'state'>[] = [],
): Promise<CopyProfile[]> => (def ? copyProfilesIn(def.profiles, def.folder, env, mounts) : Promise.resolve([]));

/** "local copies (auto: FUSE is not available: /dev/fuse does not exist)", "mount (auto: FUSE is available)". */
export function usesText(c: CopyProfile): string {
  const why = c.mode === 'copy' ? c.said : `auto: ${c.said}`;
  return c.uses === 'copy' ? l10n.t`local copies (${why})` : l10n.t`mount (${why})`;
}

/** The folder's links: the model link, then every link its rclone-devbox tasks set, each once (absolute). */
export function folderLinks(folder: string, def: WorkspaceDefinition | undefined): string[] {
  const names = [def?.modelLink ?? 'cache_hub', ...(def?.tasks ?? []).flatMap((t) => Object.keys(t.link ?? {}))];
  return [...new Set(names.map((n) => inFolder(folder, n)))];
}

/** A link of a task in copy mode: the link, the local folder it points at, and its folder in the bucket. */
export interface CopyLink {
  link: string;
  local: string;
  remote: string;
  /** One of the task's outputs: written locally and uploaded (else a version copied down). */
  output: boolean;
  /** The task's uploadEvery. */
  everyMs: number;
}

/** An output folder: written by the app under the copy root, uploaded to `remote`. */
export type OutputFolder = CopyLink;

/**
 * The links of the folder's tasks that use `c`'s profile, each with the local folder copy mode
 * makes for it (under its copy root), each folder once. A task that cannot be planned is left out
 * (up and doctor say why).
 */
export function copyLinksOf(def: WorkspaceDefinition, c: CopyProfile): CopyLink[] {
  const found = new Map<string, CopyLink>();
  for (const task of def.tasks) {
    let plan: ReturnType<typeof planOf>;
    try {
      if (profileForTask(task.mount, def.profiles, def).mountPoint !== c.profile.mountPoint) continue;
      plan = planOf(task, def.folder, def.profiles, { mountRoot: def.mountRoot });
    } catch {
      continue;
    }
    for (const l of plan.links) {
      const { local, remote } = copyPlaceOf(c.profile, c.root, l.target);
      if (!found.has(local))
        found.set(local, {
          link: l.link,
          local,
          remote,
          output: plan.outputs.includes(l.link),
          everyMs: plan.uploadEveryMs,
        });
    }
  }
  return [...found.values()];
}

/** The output folders of the folder's tasks that use `c`'s profile (see copyLinksOf). */
export const outputsOf = (def: WorkspaceDefinition, c: CopyProfile): OutputFolder[] =>
  copyLinksOf(def, c).filter((l) => l.output);

/**
 * The local versions under `root` with their sizes: whole and cut-off copies, the ones `links` point
 * at marked; output folders (and folders holding one) are not versions and are left out.
 */
export async function localVersions(
  root: string,
  links: readonly string[],
  outputs: readonly OutputFolder[],
): Promise<LocalVersion[]> {
  const all = await listLocalVersions(root, links);
  return all.filter((v) => !outputs.some((o) => o.local === v.path || o.local.startsWith(`${v.path}/`)));
}

/** A path inside `folder` as ./name, anything else as it is. */
export function shownPath(folder: string, path: string): string {
  const rel = relative(folder, path);
  return rel && !rel.startsWith('..') && !rel.startsWith('/') ? `./${rel}` : path;
}

/** How many files under the output folder wait for upload. */
export const pendingUploadsOf = (o: OutputFolder, stateDir: string): Promise<number> =>
  pendingUploads(o.local, o.remote, stateDir).then((files) => files.length);

/** Files under the output folder waiting for upload, with their modification times (ms). */
export async function pendingFiles(
  o: OutputFolder,
  stateDir: string,
): Promise<Array<{ file: string; mtimeMs: number }>> {
  const files = await pendingUploads(o.local, o.remote, stateDir);
  const times = await Promise.all(
    files.map((f) =>
      stat(join(o.local, f)).then(
        (s) => s.mtimeMs,
        () => Date.now(),
      ),
    ),
  );
  return files.map((file, i) => ({ file, mtimeMs: times[i]! }));
}

// ---- `rclone-devbox copies [--remove NAME] [--json]` ----

/** What `copies --json` prints. */
export interface CopiesJson {
  version: 1;
  folder: string;
  copies: Array<{
    remote: string;
    root: string;
    versions: Array<{ name: string; path: string; bytes: number; partial: boolean; linked: boolean }>;
  }>;
}

/** The folder's definition, its copy profiles, links, output folders, and the state folder. */
async function copyWorkspace(o: Options, locate: () => Promise<Rclone>, io: Io) {
  const def = await readWorkspace(process.cwd(), o.config);
  const copies = await copyProfilesOf(def, process.env);
  const registry = new MountRegistry(locate, { log: io.log });
  return { def, copies, links: folderLinks(def.folder, def), registry };
}

const noCopyProfile = (def: WorkspaceDefinition) =>
  new RcloneError(
    'ConfigInvalid',
    l10n.t`${def.folder} has no profile in copy mode ("mode": "copy" or "auto"), so it has no local copies.`,
    {
      fix: l10n.t(
        'Add "mode": "copy" (or "auto", which copies where FUSE is missing) to the profile in .vscode/settings.json, or run this in the workspace folder.',
      ),
    },
  );

export async function copiesCommand(o: Options, locate: () => Promise<Rclone>, io: Io): Promise<number> {
  const { def, copies, links } = await copyWorkspace(o, locate, io);
  if (!copies.length) throw noCopyProfile(def);
  const found = await Promise.all(
    copies.map(async (c) => ({ c, versions: await localVersions(c.root, links, outputsOf(def, c)) })),
  );
  if (o.remove !== undefined) return remove(o.remove, found, links, io);
  if (o.json) {
    const json: CopiesJson = {
      version: 1,
      folder: def.folder,
      copies: found.map(({ c, versions }) => ({
        remote: c.profile.remote,
        root: c.root,
        versions: versions.map(({ name, path, bytes, partial, linked }) => ({ name, path, bytes, partial, linked })),
      })),
    };
    io.out(JSON.stringify(json, null, 2));
    return 0;
  }
  for (const { c, versions } of found) {
    io.out(l10n.t`${c.profile.remote}: ${usesText(c)} in ${c.root}`);
    if (!versions.length) io.out(`  ${l10n.t('no local version yet')}`);
    for (const line of versionRows(versions)) io.out(line);
  }
  return 0;
}

/** `* cache_hub_v23  64 KB`, `  cache_hub_v24  1.0 MB  partial`: names and sizes lined up, indented. */
export function versionRows(versions: readonly LocalVersion[], indent = '  '): string[] {
  const name = Math.max(0, ...versions.map((v) => v.name.length));
  const size = Math.max(0, ...versions.map((v) => formatBytes(v.bytes).length));
  return versions.map((v) =>
    `${indent}${v.linked ? '*' : ' '} ${v.name.padEnd(name)}  ${formatBytes(v.bytes).padStart(size)}${
      v.partial ? `  ${l10n.t('partial')}` : ''
    }`.trimEnd(),
  );
}

async function remove(
  name: string,
  found: ReadonlyArray<{ c: CopyProfile; versions: LocalVersion[] }>,
  links: readonly string[],
  io: Io,
): Promise<number> {
  // A name (cache_hub_v24), the cut-off copy's folder name (.cache_hub_v24.partial), or a path.
  const asPath = name.includes('/') ? resolve(name) : undefined;
  const matches = found.flatMap(({ c, versions }) =>
    versions
      .filter((v) => (asPath ? v.path === asPath : v.name === name || `.${v.name}.partial` === name))
      .filter((v) => name !== `.${v.name}.partial` || v.partial)
      .map((v) => ({ c, v })),
  );
  const roots = [...new Set(matches.map((m) => m.c.root))];
  if (!matches.length) {
    const known = [...new Set(found.flatMap(({ versions }) => versions.map((v) => v.name)))];
    throw new RcloneError(
      'NotFound',
      known.length
        ? l10n.t`There is no local version ${name} (local versions: ${known.join(', ')}).`
        : l10n.t`There is no local version ${name}: there are no local copies yet.`,
      { fix: l10n.t('`rclone-devbox copies` lists them.') },
    );
  }
  if (roots.length > 1)
    throw new RcloneError('ConfigInvalid', l10n.t`${name} is a local version in ${roots.join(' and ')}.`, {
      fix: l10n.t('Give its path instead of its name.'),
    });
  // The whole copy first: when a link points at it nothing is removed, not even a cut-off copy beside it.
  const ordered = [...matches].sort((a, b) => Number(a.v.partial) - Number(b.v.partial));
  let freed = 0;
  for (const { c, v } of ordered) freed += await removeLocalVersion(c.root, v.path, links);
  const what =
    ordered.length > 1
      ? l10n.t`${name} and its cut-off copy`
      : ordered[0]!.v.partial
        ? l10n.t`the cut-off copy of ${ordered[0]!.v.name}`
        : name;
  io.out(l10n.t`Removed ${what} from ${roots[0]!}: ${formatBytes(freed)} freed.`);
  return 0;
}

// ---- `rclone-devbox upload` ----

/** How long `upload` waits for rclone unless --timeout says (as long as `up` gives the last upload). */
const UPLOAD_MS = 10 * 60_000;

export async function uploadCommand(o: Options, v: Values, locate: () => Promise<Rclone>, io: Io): Promise<number> {
  const { def, copies, registry } = await copyWorkspace(o, locate, io);
  // The workspace's rclone.configFile, unless the shell already chose one (RCLONE_CONFIG wins, as `up` does).
  if (def.configFile && !process.env.RCLONE_CONFIG) process.env.RCLONE_CONFIG = def.configFile;
  const task = await chooseTask(def, { task: o.task });
  const plan = planOf(task, def.folder, def.profiles, { mountRoot: def.mountRoot });
  const c = copies.find((x) => x.profile.mountPoint === plan.profile.mountPoint);
  if (!c) throw noCopyProfile(def);
  const outputs = outputsOf({ ...def, tasks: [task] }, c);
  const label = task.label ?? task.mount;
  if (!outputs.length) {
    io.out(l10n.t`The task "${label}" has no outputs: nothing to upload.`);
    return 0;
  }
  const { stateDir } = registry;
  const rclone = await locate();
  let uploaded = 0;
  let left = 0;
  let failed = false;
  for (const out of outputs) {
    try {
      uploaded += await uploadOutputs(rclone, out.local, out.remote, {
        stateDir,
        signal: io.signal,
        timeoutMs: v.timeoutMs ?? UPLOAD_MS,
      });
    } catch (e) {
      io.signal.throwIfAborted();
      failed = true;
      const n = (await pendingUploads(out.local, out.remote, stateDir).catch(() => undefined))?.length;
      left += n ?? 0;
      const why = isRcloneError(e) ? cliMessage(e.message) : e instanceof Error ? e.message : String(e);
      const where = `${shownPath(def.folder, out.link)} → ${out.remote}`;
      io.err(
        n === undefined
          ? l10n.t`${where}: the upload failed: ${why}`
          : n === 1
            ? l10n.t`${where}: 1 file is not uploaded: ${why}`
            : l10n.t`${where}: ${n} files are not uploaded: ${why}`,
      );
      const fix = isRcloneError(e) ? cliFix(e, io.context) : '';
      if (fix) io.err(fix);
    }
  }
  if (uploaded) io.out(uploaded === 1 ? l10n.t('Uploaded 1 output file.') : l10n.t`Uploaded ${uploaded} output files.`);
  else if (!failed) io.out(l10n.t('No output file is waiting for upload.'));
  if (!failed) return 0;
  io.err(
    left === 1
      ? l10n.t('1 output file is left: it stays where it is and goes up with the next rclone-devbox upload (or up).')
      : l10n.t`${left} output files are left: they stay where they are and go up with the next rclone-devbox upload (or up).`,
  );
  return 1;
}
