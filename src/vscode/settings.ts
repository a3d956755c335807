// Typed access to the `rclone.*` settings, read in one place, with one change event. The mount
// profiles also come from each workspace folder's team profile (.vscode/rclone-devbox.json, read
// here and again when it changes), after the user's own, once the user approved them.
import { DEFAULT_BASE_URL } from '../core/install';
import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import * as vscode from 'vscode';
import type { CacheMode, MountProfile } from '../core/profile';
import { readTeamProfile, TEAM_PROFILE, type TeamProfile } from '../core/teamProfile';
import {
  type AppTask,
  type ProfileSetting,
  profileFromSetting,
  substitute,
  TASK_TYPE,
  validProfile,
} from '../core/workspace';

const SECTION = 'rclone';

/**
 * Settings that decide what runs and what gets mounted. A workspace (a cloned repository's
 * .vscode/settings.json) may set them, but its value takes effect only once the user approved that
 * exact value; until then the user's own (user or remote) value applies.
 */
const GUARDED = ['path', 'configFile', 'mounts', 'autoMount'] as const;
type Guarded = (typeof GUARDED)[number];
/** globalState key of the approved value ("rclone.approvedWorkspacePath", as before for the path). */
const approvedKey = (key: Guarded) => `rclone.approvedWorkspace${key[0]!.toUpperCase()}${key.slice(1)}`;

/** What `WorkspaceConfiguration.inspect` returns, as far as it matters here. */
interface Inspected<T> {
  defaultValue?: T;
  globalValue?: T;
  workspaceValue?: T;
  workspaceFolderValue?: T;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * The value of a guarded setting in effect: the workspace's once `approved` (or when it changes
 * nothing: it equals the user's value or the default), else the user's. `pending` is the
 * workspace's value while it waits for approval.
 */
function guardedValue<T>(i: Inspected<T> | undefined, approved: unknown): { value?: T; pending?: T } {
  const user = i?.globalValue ?? i?.defaultValue;
  const fromWorkspace = i?.workspaceFolderValue ?? i?.workspaceValue;
  if (
    fromWorkspace === undefined ||
    same(fromWorkspace, user) ||
    same(fromWorkspace, i?.defaultValue) ||
    same(fromWorkspace, approved)
  )
    return { value: fromWorkspace ?? user };
  return { value: user, pending: fromWorkspace };
}

/** "a on b and c on d", for the questions. */
const mountList = (mounts: readonly ProfileSetting[]) =>
  mounts
    .map((p) => vscode.l10n.t('{0} on {1}', p.remote, p.mountPoint))
    .reduce((list, next) => vscode.l10n.t('{0} and {1}', list, next));

/** What a guarded workspace value would make Rclone Dev Box do, for the question. */
function describe(key: Guarded, value: unknown): string {
  if (key === 'path') return vscode.l10n.t('run {0} as rclone', String(value));
  if (key === 'configFile') return vscode.l10n.t('use the rclone config {0}', String(value));
  if (key === 'autoMount') return vscode.l10n.t('mount the profiles of rclone.mounts whenever a window opens');
  const mounts = (Array.isArray(value) ? (value as ProfileSetting[]) : []).filter(validProfile);
  if (!mounts.length) return vscode.l10n.t('mount what its rclone.mounts lists');
  return vscode.l10n.t('mount {0}', mountList(mounts));
}

/** A workspace folder's team profile as last read: undefined when it has none; `error` when it is wrong. */
export interface TeamEntry {
  folder: vscode.WorkspaceFolder;
  profile?: TeamProfile;
  error?: unknown;
}

/** The team profile's mount profiles of `entry` (valid entries only, variables substituted). */
function teamMountSettings(entry: TeamEntry): ProfileSetting[] {
  const raw = entry.profile?.mounts;
  const dir = entry.folder.uri.fsPath;
  return (Array.isArray(raw) ? (raw as unknown[]) : [])
    .map((p) => substitute(p as ProfileSetting, dir))
    .filter((p) => validProfile(p));
}

/**
 * globalState key of the approval of the team profile's mounts of `entry`: per file and value, so
 * a changed file is asked about again, and another repository's file with the same mounts too.
 */
function teamApprovalKey(entry: TeamEntry, mounts: readonly ProfileSetting[]): string {
  const what = JSON.stringify({ file: join(entry.folder.uri.fsPath, TEAM_PROFILE), mounts });
  return `rclone.approvedTeamMounts.${createHash('sha256').update(what).digest('hex').slice(0, 32)}`;
}

/** A value waiting for approval: how the question names it, and what a yes keeps. */
interface Pending {
  what: string;
  /** Identifies the value, for "refused in this window". */
  id: string;
  approve(): Thenable<void>;
  /** Changes which rclone or which config is used. */
  rclone: boolean;
}

export class Settings implements vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  /** Fires when a setting that decides which rclone or which config is used changes. */
  readonly onDidChangeRclone = this.changed.event;
  private readonly others = new vscode.EventEmitter<void>();
  /** Fires on any other `rclone.*` change (profiles, page size…). */
  readonly onDidChange = this.others.event;
  private readonly listener: vscode.Disposable;
  /** Workspace values the user refused in this window (ids of Pending), so they are not asked again. */
  private readonly refused = new Set<string>();
  /** The team profile of each workspace folder (by its path), as last read. */
  private team = new Map<string, TeamEntry>();
  private teamRead: Promise<void> | undefined;
  private teamWatch: vscode.Disposable | undefined;
  private readonly teamChanged = new vscode.EventEmitter<void>();
  /** A team profile was created, changed, deleted, or found wrong (the profiles changed too: onDidChange fires). */
  readonly onDidChangeTeam = this.teamChanged.event;

  constructor(private readonly state: vscode.Memento) {
    this.listener = vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('rclone.path') || e.affectsConfiguration('rclone.configFile')) this.changed.fire();
      else if (e.affectsConfiguration(SECTION)) this.others.fire();
    });
  }

  private get config() {
    return vscode.workspace.getConfiguration(SECTION);
  }

  /** Workspace values waiting for approval; unless `again`, not those refused in this window. */
  private pending(again: boolean): Pending[] {
    const settings = GUARDED.flatMap((key): Pending[] => {
      const { pending } = guardedValue(this.config.inspect(key), this.state.get(approvedKey(key)));
      if (pending === undefined) return [];
      return [
        {
          what: describe(key, pending),
          id: `${key}:${JSON.stringify(pending)}`,
          approve: () => this.state.update(approvedKey(key), pending),
          rclone: key === 'path' || key === 'configFile',
        },
      ];
    });
    const team = this.teamEntries().flatMap((entry): Pending[] => {
      const mounts = teamMountSettings(entry);
      const key = teamApprovalKey(entry, mounts);
      if (!mounts.length || this.state.get(key)) return [];
      return [
        {
          what: vscode.l10n.t('mount {0}, as its team profile {1} says', mountList(mounts), TEAM_PROFILE),
          id: key,
          approve: () => this.state.update(key, true),
          rclone: false,
        },
      ];
    });
    return [...settings, ...team].filter((p) => again || !this.refused.has(p.id));
  }

  /**
   * Asks, in one question, about the workspace's values of rclone.path, configFile, mounts and
   * autoMount, and the mount profiles of its team profiles, that wait for approval, if any. A yes
   * is kept (in globalState, for these exact values); a no holds for this window unless `again`.
   * Returns whether anything was approved.
   */
  async approve(ask: (what: string[]) => Promise<boolean>, again = false): Promise<boolean> {
    await this.teams();
    const pending = this.pending(again);
    if (!pending.length) return false;
    if (!(await ask(pending.map((p) => p.what)))) {
      for (const p of pending) this.refused.add(p.id);
      return false;
    }
    for (const p of pending) await p.approve();
    if (pending.some((p) => p.rclone)) this.changed.fire();
    if (pending.some((p) => !p.rclone)) this.others.fire();
    return true;
  }

  /** The workspace folders' team profiles, read once (then kept up to date by a file watcher). */
  async teams(): Promise<readonly TeamEntry[]> {
    this.teamRead ??= this.readTeams();
    await this.teamRead;
    return this.teamEntries();
  }

  /** The team profiles as last read (empty until teams() has read them; reading starts here). */
  private teamEntries(): TeamEntry[] {
    this.teamRead ??= this.readTeams();
    if (!vscode.workspace.isTrusted) return []; // Restricted Mode: a repository's file counts for nothing
    return [...this.team.values()].filter((e) => e.profile || e.error);
  }

  private async readTeams(): Promise<void> {
    this.teamWatch ??= this.watchTeams();
    const folders = vscode.workspace.workspaceFolders ?? [];
    const entries = await Promise.all(folders.map((f) => this.readTeam(f)));
    const next = new Map(entries.map((e) => [e.folder.uri.fsPath, e]));
    const fingerprint = (m: Map<string, TeamEntry>) =>
      JSON.stringify(
        [...m.values()].map((e) => [e.folder.uri.fsPath, e.profile, e.error && (e.error as Error).message]),
      );
    const changed = fingerprint(next) !== fingerprint(this.team);
    this.team = next;
    if (changed) {
      this.others.fire();
      this.teamChanged.fire();
    }
  }

  private async readTeam(folder: vscode.WorkspaceFolder): Promise<TeamEntry> {
    try {
      return { folder, profile: await readTeamProfile(folder.uri.fsPath) };
    } catch (error) {
      return { folder, error };
    }
  }

  /**
   * Reads the team profiles again whenever one is created, changed or deleted, or the folders
   * change. Also when a .vscode folder goes or comes (a branch without it checked out): the
   * watcher then reports the folder alone, not the files in it.
   */
  private watchTeams(): vscode.Disposable {
    const watcher = vscode.workspace.createFileSystemWatcher(`**/${TEAM_PROFILE.replace(/\\/g, '/')}`);
    const folders = vscode.workspace.createFileSystemWatcher(`**/${dirname(TEAM_PROFILE)}`, false, true, false);
    const again = () => {
      // One read at a time, in order; a read that failed leaves the last state (the next event reads again).
      this.teamRead = (this.teamRead ?? Promise.resolve()).then(() => this.readTeams()).catch(() => undefined);
    };
    return vscode.Disposable.from(
      watcher,
      watcher.onDidCreate(again),
      watcher.onDidChange(again),
      watcher.onDidDelete(again),
      folders,
      folders.onDidCreate(again),
      folders.onDidDelete(again),
      vscode.workspace.onDidChangeWorkspaceFolders(again),
      vscode.workspace.onDidGrantWorkspaceTrust(() => {
        this.others.fire();
        this.teamChanged.fire();
      }),
    );
  }

  /**
   * The team profile's mount profiles of `folder`: with `approvedOnly`, only once the user approved
   * them (what counts as a profile of the workspace); else all of them (a team task that uses one
   * is approved with its profile).
   */
  teamProfiles(folder: string, approvedOnly = true): MountProfile[] {
    const entry = this.teamEntries().find((e) => e.folder.uri.fsPath === folder);
    if (!entry) return [];
    const mounts = teamMountSettings(entry);
    if (approvedOnly && !this.state.get(teamApprovalKey(entry, mounts))) return [];
    return mounts.map((p) => profileFromSetting(p, this.defaultCacheMode));
  }

  /** The team profile's rclone-devbox tasks of `folder` that have a label, variables substituted. */
  teamTasks(folder: string): Array<AppTask & { label: string }> {
    const entry = this.teamEntries().find((e) => e.folder.uri.fsPath === folder);
    const raw = entry?.profile?.tasks;
    return (Array.isArray(raw) ? (raw as AppTask[]) : [])
      .filter((t) => t && typeof t === 'object' && t.type === TASK_TYPE && typeof t.label === 'string' && t.label)
      .map((t) => substitute(t, folder) as AppTask & { label: string });
  }

  private guarded<T>(key: Guarded): T | undefined {
    return guardedValue<T>(this.config.inspect<T>(key), this.state.get(approvedKey(key))).value;
  }

  /** The rclone binary to run (empty: rclone on PATH). */
  get rclonePath(): string | undefined {
    return this.guarded<string>('path') || undefined;
  }

  /**
   * Where Install rclone downloads releases from (a mirror, an internal artifact server). Only the
   * user's own value counts: a workspace must not choose what binary gets installed.
   */
  get installBaseUrl(): string {
    return this.config.inspect<string>('installBaseUrl')?.globalValue || DEFAULT_BASE_URL;
  }

  /** A pinned rclone version for Install rclone ("1.68.2"); undefined: the newest the site lists. */
  get installVersion(): string | undefined {
    return this.config.inspect<string>('installVersion')?.globalValue || undefined;
  }

  get configFile(): string | undefined {
    return this.guarded<string>('configFile') || undefined;
  }

  get mountRoot(): string {
    return this.config.get<string>('mountRoot') || '/mnt';
  }

  get defaultCacheMode(): CacheMode {
    return this.config.get<CacheMode>('defaultCacheMode') ?? 'writes';
  }

  get pageSize(): number {
    return Math.max(10, Math.floor(this.config.get<number>('pageSize') ?? 500));
  }

  /** The model link, relative to the workspace folder (IndexTTS2: cache_hub). */
  get modelLink(): string {
    return this.config.get<string>('modelLink') || 'cache_hub';
  }

  /** Which folders of a mount are model versions (a glob with * and ?). */
  get versionPattern(): string {
    return this.config.get<string>('versionPattern') || 'cache_hub*';
  }

  get autoMount(): boolean {
    return this.guarded<boolean>('autoMount') ?? false;
  }

  get unmountOnExit(): boolean {
    return this.config.get<boolean>('unmountOnExit') ?? false;
  }

  /**
   * Mount profiles from settings (a workspace's only once approved), then those of the folders'
   * team profiles (once approved; a mount point the settings already have keeps the settings'
   * profile). Entries without a remote or a mount point are skipped.
   */
  get profiles(): MountProfile[] {
    const raw = this.guarded<ProfileSetting[]>('mounts');
    const profiles = (Array.isArray(raw) ? raw : [])
      .filter(validProfile)
      .map((p) => profileFromSetting(p, this.defaultCacheMode));
    for (const entry of this.teamEntries())
      for (const p of this.teamProfiles(entry.folder.uri.fsPath))
        if (!profiles.some((q) => q.mountPoint === p.mountPoint)) profiles.push(p);
    return profiles;
  }

  profileFor(remote: string): MountProfile | undefined {
    return this.profiles.find((p) => sameRemote(p.remote, remote));
  }

  dispose(): void {
    this.listener.dispose();
    this.teamWatch?.dispose();
    this.changed.dispose();
    this.others.dispose();
    this.teamChanged.dispose();
  }
}

/** "s3:bucket/" and "s3:bucket" are the same place. */
export const sameRemote = (a: string, b: string) => a.replace(/\/+$/, '') === b.replace(/\/+$/, '');
