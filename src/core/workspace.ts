// A workspace's bring-up definition as the CLI finds it without an editor: the mount profiles of
// `.vscode/settings.json` ("rclone.mounts") and the `rclone-devbox` tasks of `.vscode/tasks.json`,
// both JSON with comments, or one file given with --config that holds both keys. The editor reads
// the same two things through its own API; both then resolve a task the same way (resolveTask).
import { readlink, stat } from 'node:fs/promises';
import { homedir, hostname } from 'node:os';
import { isAbsolute, join, relative, resolve } from 'node:path';
import * as l10n from '@vscode/l10n';
import { RcloneError } from './errors';
import { type CacheMode, DEFAULT_WARM, type MountProfile, type StorageMode } from './profile';
import { readOptional, stripJsonc } from './jsonc';
import { readTeamProfile } from './teamProfile';

/** The task type the extension contributes (package.json taskDefinitions), as written in tasks.json. */
export const TASK_TYPE = 'rclone-devbox';
/** The port IndexTTS2's web UI listens on. */
export const DEFAULT_PORT = 7860;

/** A `rclone-devbox` task's properties (package.json has their JSON schema). */
export interface AppTask {
  type?: typeof TASK_TYPE;
  /** Name of the task (tasks.json "label"). */
  label?: string;
  /** A mount profile's remote or mount point, or a "remote:bucket/path" without a profile. */
  mount: string;
  /** Links to set, relative to the folder → target relative to the mount point (or absolute). */
  link?: Record<string, string>;
  /** Folders to warm: a name of `link` means the folder it links to; else a path below the mount point. */
  prewarm?: string[];
  /**
   * Names of `link` whose folders the app writes (e.g. ["outputs"]; default: a link named
   * "outputs"). In copy mode they are local folders uploaded to their targets; on a mount the
   * mount uploads them.
   */
  outputs?: string[];
  /** Copy mode: how often new outputs are uploaded while the app runs, e.g. "5m" (default). */
  uploadEvery?: string;
  /** Warm the files' content too (cacheMode "full" mounts only), not just the listings. */
  prewarmContent?: boolean;
  /** The app, one argument per element; a first "python" means the workspace's Python. */
  command?: string[];
  /** Where the app runs, relative to the folder (default: the folder). */
  cwd?: string;
  env?: Record<string, string>;
  /** Ready once this URL answers. */
  readyUrl?: string;
  /** Or once a line of the app's output matches this regular expression. */
  readyPattern?: string;
  /** How long the app may take to be ready, e.g. "5m" (default). */
  readyTimeout?: string;
}

/** A mount profile as settings.json writes it (rclone.mounts items). */
export interface ProfileSetting {
  remote: string;
  mountPoint: string;
  cacheMode?: CacheMode;
  cacheMaxSize?: string;
  cacheDir?: string;
  allowOther?: boolean;
  allowNonEmpty?: boolean;
  extraFlags?: string[];
  dirCacheTime?: string;
  warm?: string[];
  mode?: StorageMode;
  copyDir?: string;
}

const PROFILE_TYPES: Record<keyof ProfileSetting, 'string' | 'boolean' | 'strings'> = {
  remote: 'string',
  mountPoint: 'string',
  cacheMode: 'string',
  cacheMaxSize: 'string',
  cacheDir: 'string',
  allowOther: 'boolean',
  allowNonEmpty: 'boolean',
  extraFlags: 'strings',
  dirCacheTime: 'string',
  warm: 'strings',
  mode: 'string',
  copyDir: 'string',
};

/**
 * What is wrong with the types of a settings entry, naming the field (`"cacheMode" is 7, not a
 * string`); undefined when every field has its type. A wrong type never reaches the mount code: a
 * string of extra flags would be spread into one-letter arguments, a number as cache dir would crash.
 */
export function profileProblem(p: unknown): string | undefined {
  if (!p || typeof p !== 'object' || Array.isArray(p)) return l10n.t`${String(JSON.stringify(p))} is not an object`;
  const entry = p as Record<string, unknown>;
  for (const [field, type] of Object.entries(PROFILE_TYPES)) {
    const v = entry[field];
    if (v === undefined && field !== 'remote' && field !== 'mountPoint') continue;
    const fits =
      type === 'strings'
        ? Array.isArray(v) && v.every((x) => typeof x === 'string')
        : typeof v === type && (type !== 'string' || v !== '' || (field !== 'remote' && field !== 'mountPoint'));
    if (!fits) {
      if (v === undefined) return l10n.t`it has no "${field}"`;
      const json = JSON.stringify(v);
      return type === 'strings'
        ? l10n.t`"${field}" is ${json}, not a list of strings`
        : type === 'string'
          ? l10n.t`"${field}" is ${json}, not a non-empty string`
          : l10n.t`"${field}" is ${json}, not a boolean`;
    }
  }
  return undefined;
}

/** An entry whose every field has its type (the editor skips the others; the CLI refuses them, naming the field). */
export const validProfile = (p: Partial<ProfileSetting> | undefined): p is ProfileSetting =>
  profileProblem(p) === undefined;

/** A settings entry as a profile: empty strings are unset, a missing warm list is IndexTTS2's. */
export function profileFromSetting(p: ProfileSetting, defaultCacheMode: CacheMode = 'writes'): MountProfile {
  return {
    remote: p.remote,
    mountPoint: p.mountPoint,
    cacheMode: p.cacheMode ?? defaultCacheMode,
    cacheMaxSize: p.cacheMaxSize || undefined,
    cacheDir: p.cacheDir || undefined,
    allowOther: p.allowOther,
    allowNonEmpty: p.allowNonEmpty,
    extraFlags: p.extraFlags,
    dirCacheTime: p.dirCacheTime || undefined,
    warm: Array.isArray(p.warm) ? p.warm : DEFAULT_WARM,
    mode: p.mode || undefined,
    copyDir: p.copyDir || undefined,
  };
}

/** What the CLI knows of a folder: its profiles, its rclone-devbox tasks, and a few rclone.* settings. */
export interface WorkspaceDefinition {
  folder: string;
  profiles: MountProfile[];
  tasks: AppTask[];
  configFile?: string;
  mountRoot: string;
  modelLink: string;
  /** The files read, for messages. */
  sources: string[];
}

const invalidSetting = (file: string, problem: string) =>
  new RcloneError('ConfigInvalid', l10n.t`${file}: ${problem}.`, {
    fix: l10n.t(
      'Fix the setting: each mount profile is {"remote": "remote:bucket", "mountPoint": "/mnt/bucket", …} with the types of package.json\'s "rclone.mounts".',
    ),
  });

/** A JSONC file's object, undefined when the file does not exist; a clear ConfigInvalid when it is not JSON. */
async function readJsonc(file: string): Promise<Record<string, unknown> | undefined> {
  const text = await readOptional(file);
  if (text === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(stripJsonc(text));
    if (value && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
    throw new Error('not an object');
  } catch (e) {
    throw new RcloneError('ConfigInvalid', l10n.t`${file} is not valid JSON: ${(e as Error).message}.`, {
      fix: l10n.t('Fix the file (comments and trailing commas are allowed, as in VS Code).'),
    });
  }
}

/**
 * VS Code's variables a task may use: ${workspaceFolder}, ${userHome}, ${env:NAME}; and ${hostname}
 * (this box's name: a team profile's `outputs` → `outputs/${hostname}` keeps each box's results
 * apart in the shared bucket). Others are left as they are.
 */
export function substitute<T>(value: T, folder: string, env: NodeJS.ProcessEnv = process.env): T {
  if (typeof value === 'string')
    return value.replace(
      /\$\{(workspaceFolder|workspaceRoot|userHome|hostname|env:([^}]+))\}/g,
      (_m, name: string, v?: string) =>
        v !== undefined ? (env[v] ?? '') : name === 'userHome' ? homedir() : name === 'hostname' ? hostname() : folder,
    ) as T;
  if (Array.isArray(value)) return value.map((v: unknown) => substitute(v, folder, env)) as T;
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, folder, env)])) as T;
  return value;
}

/**
 * Reads the folder's definition: `configFile` (any JSONC file with "rclone.mounts" and/or "tasks")
 * when given, else `.vscode/settings.json` and `.vscode/tasks.json`, then the team profile
 * (`.vscode/rclone-devbox.json`), whose mount profiles and tasks come after them (a profile of the
 * same mount point, or a task of the same label, in the user's own files wins). Any may be missing.
 */
export async function readWorkspace(folder: string, configFile?: string): Promise<WorkspaceDefinition> {
  const dir = resolve(folder);
  const files = configFile
    ? [resolve(configFile)]
    : [join(dir, '.vscode', 'settings.json'), join(dir, '.vscode', 'tasks.json')];
  if (configFile && !(await stat(files[0]!).catch(() => undefined)))
    throw new RcloneError('ConfigInvalid', l10n.t`${configFile} was not found.`, {
      fix: l10n.t('Give the path of a JSON file with "rclone.mounts" and "tasks".'),
    });
  const read = await Promise.all(files.map(readJsonc));
  const merged: Record<string, unknown> = Object.assign({}, ...read.filter(Boolean));
  const setting = (key: string): unknown =>
    merged[`rclone.${key}`] ?? (merged.rclone as Record<string, unknown>)?.[key];
  const defaultCacheMode = (setting('defaultCacheMode') as CacheMode | undefined) ?? 'writes';
  const mounts = setting('mounts');
  const where = files.find((_f, i) => read[i] && ('rclone.mounts' in read[i]! || 'rclone' in read[i]!)) ?? files[0]!;
  if (mounts != null && !Array.isArray(mounts))
    throw invalidSetting(where, l10n.t`"rclone.mounts" is ${JSON.stringify(mounts)}, not a list of mount profiles`);
  const profiles = ((mounts ?? []) as unknown[]).map((p, i) => {
    const problem = profileProblem(p);
    if (problem) throw invalidSetting(where, l10n.t`the mount profile ${i + 1} of "rclone.mounts": ${problem}`);
    return profileFromSetting(substitute(p as ProfileSetting, dir), defaultCacheMode);
  });
  for (const key of ['mountRoot', 'modelLink'])
    if (setting(key) !== undefined && typeof setting(key) !== 'string')
      throw invalidSetting(where, l10n.t`"rclone.${key}" is ${JSON.stringify(setting(key))}, not a string`);
  const tasks = (Array.isArray(merged.tasks) ? (merged.tasks as AppTask[]) : [])
    .filter((t) => t && t.type === TASK_TYPE)
    .map((t) => substitute(t, dir));
  const team = configFile ? undefined : await readTeamProfile(dir);
  if (team) {
    if (team.mounts != null && !Array.isArray(team.mounts))
      throw invalidSetting(
        team.file,
        l10n.t`"rclone.mounts" is ${JSON.stringify(team.mounts)}, not a list of mount profiles`,
      );
    ((team.mounts ?? []) as unknown[]).forEach((p, i) => {
      const problem = profileProblem(p);
      if (problem) throw invalidSetting(team.file, l10n.t`the mount profile ${i + 1} of "rclone.mounts": ${problem}`);
      const profile = profileFromSetting(substitute(p as ProfileSetting, dir), defaultCacheMode);
      // The same folder however written: `/mnt/x/` is `/mnt/x`.
      if (!profiles.some((q) => resolve(q.mountPoint) === resolve(profile.mountPoint))) profiles.push(profile);
    });
    for (const t of Array.isArray(team.tasks) ? (team.tasks as AppTask[]) : [])
      if (t && t.type === TASK_TYPE && !tasks.some((u) => u.label === t.label)) tasks.push(substitute(t, dir));
  }
  const configured = setting('configFile');
  return {
    folder: dir,
    profiles,
    tasks,
    configFile: typeof configured === 'string' && configured ? substitute(configured, dir) : undefined,
    mountRoot: (setting('mountRoot') as string | undefined) || '/mnt',
    modelLink: (setting('modelLink') as string | undefined) || 'cache_hub',
    sources: [...files.filter((_f, i) => read[i]), ...(team ? [team.file] : [])],
  };
}

/** The profile a task's `mount` names (by remote or mount point), or a default one for a bare remote:path. */
export function profileForTask(
  mount: string,
  profiles: readonly MountProfile[],
  defaults: { mountRoot: string; cacheMode?: CacheMode },
): MountProfile {
  const trim = (s: string) => s.replace(/\/+$/, '');
  const found = profiles.find((p) => trim(p.remote) === trim(mount) || trim(p.mountPoint) === trim(mount));
  if (found) return found;
  if (!/^[^:/]+:/.test(mount))
    throw new RcloneError('ConfigInvalid', l10n.t`No mount profile is named "${mount}".`, {
      fix: l10n.t('Name a profile by its remote or mount point (rclone.mounts), or give a remote:bucket/path.'),
    });
  const bucket = trim(mount.slice(mount.indexOf(':') + 1)).split('/')[0] || mount.slice(0, mount.indexOf(':'));
  return { remote: mount, mountPoint: join(defaults.mountRoot, bucket), cacheMode: defaults.cacheMode ?? 'writes' };
}

/**
 * The task to bring up: the one labelled `name`, else the first whose mount is `profile`, else the
 * only one; without any task, a default one for `profile` (or the first profile) and, when the
 * folder has a webui.py, IndexTTS2's app.
 */
export async function chooseTask(
  def: WorkspaceDefinition,
  opts: { task?: string; profile?: string },
): Promise<AppTask> {
  if (opts.task) {
    const t = def.tasks.find((x) => x.label === opts.task);
    if (!t)
      throw new RcloneError('ConfigInvalid', l10n.t`No rclone-devbox task is labelled "${opts.task}".`, {
        fix: l10n.t`Tasks found: ${def.tasks.map((x) => x.label ?? l10n.t('(no label)')).join(', ') || l10n.t('none')} (in ${def.sources.join(', ') || l10n.t('no file')}).`,
      });
    return t;
  }
  if (opts.profile) {
    const profile = profileForTask(opts.profile, def.profiles, def);
    const t = def.tasks.find((x) => profileForTask(x.mount, def.profiles, def).mountPoint === profile.mountPoint);
    return t ?? (await defaultTask(def.folder, profile, def.modelLink));
  }
  if (def.tasks.length) return def.tasks[0]!;
  const first = def.profiles[0];
  if (!first)
    throw new RcloneError('ConfigInvalid', l10n.t`${def.folder} has no mount profile and no rclone-devbox task.`, {
      fix: l10n.t(
        'Add "rclone.mounts" to .vscode/settings.json or a task of type "rclone-devbox" to .vscode/tasks.json, or give --profile remote:bucket.',
      ),
    });
  return defaultTask(def.folder, first, def.modelLink);
}

/**
 * IndexTTS2's bring-up, as the seed script does it: mount, point ./cache_hub at the bucket's model
 * folder (where it points now if that is on this mount, else the bucket's own cache_hub/), warm
 * it, and start webui.py when the folder has one.
 */
export async function defaultTask(folder: string, profile: MountProfile, modelLink = 'cache_hub'): Promise<AppTask> {
  const hasApp = await stat(join(folder, 'webui.py')).then(
    (s) => s.isFile(),
    () => false,
  );
  const now = await readlink(inFolder(folder, modelLink)).catch(() => undefined);
  const rel = now && relative(profile.mountPoint, resolve(folder, now));
  const target = rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : modelLink;
  return {
    type: TASK_TYPE,
    // Not translated: the label names the task (tasks.json, task executions) and the app's record
    // (findApps), so the editor and the CLI must agree on it whatever their languages.
    label: hasApp ? 'Bring up webui.py' : `Bring up ${profile.remote}`,
    mount: profile.remote,
    link: { [modelLink]: target },
    prewarm: [modelLink],
    ...(hasApp && {
      command: ['python', 'webui.py', '--listen', '--port', String(DEFAULT_PORT)],
      readyUrl: `http://127.0.0.1:${DEFAULT_PORT}/`,
    }),
  };
}

/** A folder-relative path from a task, made absolute. */
export const inFolder = (folder: string, p: string) => (isAbsolute(p) ? p : join(folder, p));
