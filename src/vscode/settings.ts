// Typed access to the `rclone.*` settings, read in one place, with one change event.
import * as vscode from 'vscode';
import type { CacheMode, MountProfile } from '../core/profile';
import { type ProfileSetting, profileFromSetting, validProfile } from '../core/workspace';

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

/** What a guarded workspace value would make Rclone Dev Box do, for the question. */
function describe(key: Guarded, value: unknown): string {
  if (key === 'path') return vscode.l10n.t('run {0} as rclone', String(value));
  if (key === 'configFile') return vscode.l10n.t('use the rclone config {0}', String(value));
  if (key === 'autoMount') return vscode.l10n.t('mount the profiles of rclone.mounts whenever a window opens');
  const mounts = (Array.isArray(value) ? (value as ProfileSetting[]) : []).filter(validProfile);
  if (!mounts.length) return vscode.l10n.t('mount what its rclone.mounts lists');
  const each = mounts.map((p) => vscode.l10n.t('{0} on {1}', p.remote, p.mountPoint));
  return vscode.l10n.t(
    'mount {0}',
    each.reduce((list, next) => vscode.l10n.t('{0} and {1}', list, next)),
  );
}

export class Settings implements vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  /** Fires when a setting that decides which rclone or which config is used changes. */
  readonly onDidChangeRclone = this.changed.event;
  private readonly others = new vscode.EventEmitter<void>();
  /** Fires on any other `rclone.*` change (profiles, page size…). */
  readonly onDidChange = this.others.event;
  private readonly listener: vscode.Disposable;
  /** Guarded workspace values the user refused in this window (as JSON), so they are not asked again. */
  private readonly refused = new Map<Guarded, string>();

  constructor(private readonly state: vscode.Memento) {
    this.listener = vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('rclone.path') || e.affectsConfiguration('rclone.configFile')) this.changed.fire();
      else if (e.affectsConfiguration(SECTION)) this.others.fire();
    });
  }

  private get config() {
    return vscode.workspace.getConfiguration(SECTION);
  }

  /** Guarded workspace values waiting for approval; unless `again`, not those refused in this window. */
  private pending(again: boolean): Array<{ key: Guarded; value: unknown }> {
    return GUARDED.flatMap((key) => {
      const { pending } = guardedValue(this.config.inspect(key), this.state.get(approvedKey(key)));
      if (pending === undefined || (!again && this.refused.get(key) === JSON.stringify(pending))) return [];
      return [{ key, value: pending }];
    });
  }

  /**
   * Asks, in one question, about the workspace's values of rclone.path, configFile, mounts and
   * autoMount that wait for approval, if any. A yes is kept (in globalState, for these exact
   * values); a no holds for this window unless `again`. Returns whether anything was approved.
   */
  async approve(ask: (what: string[]) => Promise<boolean>, again = false): Promise<boolean> {
    const pending = this.pending(again);
    if (!pending.length) return false;
    if (!(await ask(pending.map((p) => describe(p.key, p.value))))) {
      for (const p of pending) this.refused.set(p.key, JSON.stringify(p.value));
      return false;
    }
    for (const p of pending) await this.state.update(approvedKey(p.key), p.value);
    if (pending.some((p) => p.key === 'path' || p.key === 'configFile')) this.changed.fire();
    if (pending.some((p) => p.key === 'mounts' || p.key === 'autoMount')) this.others.fire();
    return true;
  }

  private guarded<T>(key: Guarded): T | undefined {
    return guardedValue<T>(this.config.inspect<T>(key), this.state.get(approvedKey(key))).value;
  }

  /** The rclone binary to run (empty: rclone on PATH). */
  get rclonePath(): string | undefined {
    return this.guarded<string>('path') || undefined;
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

  /** Mount profiles from settings (a workspace's only once approved); entries without a remote or a mount point are skipped. */
  get profiles(): MountProfile[] {
    const raw = this.guarded<ProfileSetting[]>('mounts');
    return (Array.isArray(raw) ? raw : [])
      .filter(validProfile)
      .map((p) => profileFromSetting(p, this.defaultCacheMode));
  }

  profileFor(remote: string): MountProfile | undefined {
    return this.profiles.find((p) => sameRemote(p.remote, remote));
  }

  dispose(): void {
    this.listener.dispose();
    this.changed.dispose();
    this.others.dispose();
  }
}

/** "s3:bucket/" and "s3:bucket" are the same place. */
export const sameRemote = (a: string, b: string) => a.replace(/\/+$/, '') === b.replace(/\/+$/, '');
