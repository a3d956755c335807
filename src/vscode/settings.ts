// Typed access to the `rclone.*` settings, read in one place, with one change event.
import * as vscode from 'vscode';
import type { CacheMode, MountProfile } from '../core/profile';

export interface ProfileSetting {
  remote: string;
  mountPoint: string;
  cacheMode?: CacheMode;
  cacheMaxSize?: string;
  cacheDir?: string;
  allowOther?: boolean;
  allowNonEmpty?: boolean;
  extraFlags?: string[];
}

const SECTION = 'rclone';
const APPROVED_PATH = 'rclone.approvedWorkspacePath';

export class Settings implements vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  /** Fires when a setting that decides which rclone or which config is used changes. */
  readonly onDidChangeRclone = this.changed.event;
  private readonly others = new vscode.EventEmitter<void>();
  /** Fires on any other `rclone.*` change (profiles, page size…). */
  readonly onDidChange = this.others.event;
  private readonly listener: vscode.Disposable;

  constructor(private readonly state: vscode.Memento) {
    this.listener = vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('rclone.path') || e.affectsConfiguration('rclone.configFile')) this.changed.fire();
      else if (e.affectsConfiguration(SECTION)) this.others.fire();
    });
  }

  private get config() {
    return vscode.workspace.getConfiguration(SECTION);
  }

  /**
   * The rclone binary to run. A path set by the workspace (a cloned repository's
   * .vscode/settings.json) runs only once the user has approved that exact path.
   */
  async rclonePath(ask: (path: string) => Promise<boolean>): Promise<string | undefined> {
    const inspected = this.config.inspect<string>('path');
    const fromWorkspace = inspected?.workspaceFolderValue || inspected?.workspaceValue;
    const fromUser = inspected?.globalValue || undefined;
    if (!fromWorkspace || fromWorkspace === fromUser) return fromUser;
    if (this.state.get<string>(APPROVED_PATH) === fromWorkspace) return fromWorkspace;
    if (!(await ask(fromWorkspace))) return fromUser;
    await this.state.update(APPROVED_PATH, fromWorkspace);
    return fromWorkspace;
  }

  get configFile(): string | undefined {
    return this.config.get<string>('configFile') || undefined;
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

  get autoMount(): boolean {
    return this.config.get<boolean>('autoMount') ?? false;
  }

  get unmountOnExit(): boolean {
    return this.config.get<boolean>('unmountOnExit') ?? false;
  }

  /** Mount profiles from settings; entries without a remote or a mount point are skipped. */
  get profiles(): MountProfile[] {
    const raw = this.config.get<ProfileSetting[]>('mounts') ?? [];
    return raw
      .filter((p) => typeof p?.remote === 'string' && typeof p.mountPoint === 'string')
      .map((p) => ({
        remote: p.remote,
        mountPoint: p.mountPoint,
        cacheMode: p.cacheMode ?? this.defaultCacheMode,
        cacheMaxSize: p.cacheMaxSize || undefined,
        cacheDir: p.cacheDir || undefined,
        allowOther: p.allowOther,
        allowNonEmpty: p.allowNonEmpty,
        extraFlags: p.extraFlags,
      }));
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
