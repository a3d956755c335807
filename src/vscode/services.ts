// The context every surface gets: settings, log, the questions channel, and the core services.
// rclone is found on first need (not at activation) and found again when its settings change.
import { join } from 'node:path';
import * as vscode from 'vscode';
import { RcloneConfig } from '../core/config';
import { isRcloneError } from '../core/errors';
import { ExpiryStore } from '../core/expiry';
import { type Mount, MountRegistry } from '../core/mounts';
import { Rclone } from '../core/rclone';
import { Log } from './log';
import { AppState } from './apps';
import { ModelState } from './models';
import { OutputsState } from './outputs';
import { Settings } from './settings';
import { type Ui, windowUi } from './ui';

/** What the welcome view shows: rclone missing, no remotes, or the tree. */
export type ViewState = 'missing' | 'noRemotes' | 'ready';
export type Busy = 'mounting' | 'copying' | 'unmounting' | 'repairing' | 'warming' | 'starting app';
/** An operation running on a mount point: which, of what remote, and how far (e.g. "40%"). */
export interface BusyOp {
  what: Busy;
  remote: string;
  progress?: string;
}

export class Services implements vscode.Disposable {
  readonly log = new Log();
  readonly settings: Settings;
  readonly registry: MountRegistry;
  /** When each remote's pasted session token expires, as the user said (see expiry.ts). */
  readonly expiry: ExpiryStore;
  /** Where the model link points and how long mounts stay warm (see models.ts). */
  readonly models: ModelState;
  /** The workspace's app (webui.py): starting, or ready at its URL (see apps.ts). */
  readonly apps: AppState;
  /** Copy mode's output folders: uploaded on a schedule, and how many files wait (see outputs.ts). */
  readonly outputs: OutputsState;
  /** The window is closing or reloading: an app's terminal going away then must not stop the app. */
  shuttingDown = false;
  ui: Ui = windowUi;
  private located: Promise<Rclone> | undefined;
  private opened: Promise<RcloneConfig> | undefined;
  private readonly remotesChanged = new vscode.EventEmitter<void>();
  /** The remotes may have changed: the config file was edited, or rclone or its config replaced. */
  readonly onDidChangeRemotes = this.remotesChanged.event;
  /** Operations of ours running per mount point (mount, unmount, repair, warm), oldest first. */
  private readonly running = new Map<string, BusyOp[]>();
  private readonly busyChanged = new vscode.EventEmitter<void>();
  readonly onDidChangeBusy = this.busyChanged.event;
  private readonly mounted = new vscode.EventEmitter<Mount>();
  /** A mount made in this window came up (a warm list and the model link follow it). */
  readonly onDidMount = this.mounted.event;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(readonly context: vscode.ExtensionContext) {
    this.settings = new Settings(context.globalState);
    this.registry = new MountRegistry(() => this.rclone(), { log: this.log });
    this.expiry = ExpiryStore.in(this.registry.stateDir);
    this.models = new ModelState(this);
    this.apps = new AppState(this);
    this.outputs = new OutputsState(this);
    this.disposables.push(
      this.models,
      this.outputs,
      this.apps,
      this.settings,
      this.settings.onDidChangeRclone(() => this.reset()),
      { dispose: () => this.registry.dispose() },
      this.remotesChanged,
      this.busyChanged,
      this.mounted,
      this.log,
    );
  }

  rclone(): Promise<Rclone> {
    this.located ??= this.locate().catch((e: unknown) => {
      this.located = undefined; // try again next time (the user may install it meanwhile)
      if (isRcloneError(e, 'RcloneMissing') || isRcloneError(e, 'RcloneTooOld')) void this.setViewState('missing');
      throw e;
    });
    return this.located;
  }

  private async locate(): Promise<Rclone> {
    await this.approveWorkspace(); // the first real work: the workspace's settings are asked about now
    return Rclone.locate({ path: this.settings.rclonePath, configFile: this.settings.configFile, log: this.log });
  }

  private approving: Promise<boolean> | undefined;

  /**
   * Asks about this workspace's values of rclone.path, configFile, mounts and autoMount, if any
   * wait for approval (a repository must not run or mount anything just by being opened). One
   * question at a time; a refusal holds for this window unless `again`. True if any was approved.
   */
  approveWorkspace(again = false): Promise<boolean> {
    this.approving ??= this.settings
      .approve(
        (what) =>
          this.ui.confirm(
            vscode.l10n.t('This workspace asks Rclone Dev Box to {0}.', what.join('; ')),
            vscode.l10n.t(
              'Allow it only if you trust this folder: what it names runs with your permissions. A changed value is asked about again.',
            ),
            vscode.l10n.t('Allow'),
          ),
        again,
      )
      .finally(() => (this.approving = undefined));
    return this.approving;
  }

  config(): Promise<RcloneConfig> {
    this.opened ??= this.rclone()
      .then(async (rclone) => {
        const file = this.settings.configFile;
        const config = file ? new RcloneConfig(rclone, file) : await RcloneConfig.open(rclone);
        this.disposables.push(
          config,
          config.watch().onDidChange(() => this.remotesChanged.fire()),
        );
        return config;
      })
      .catch((e: unknown) => {
        this.opened = undefined;
        throw e;
      });
    return this.opened;
  }

  /** The last state handed to the welcome view (undefined until the tree first loads). */
  viewState: ViewState | undefined;

  async setViewState(state: ViewState): Promise<void> {
    if (state === this.viewState) return;
    this.viewState = state;
    await vscode.commands.executeCommand('setContext', 'rclone.state', state);
  }

  /** Mount points with an operation of ours running, and the newest one on each: what is shown. */
  get busy(): ReadonlyMap<string, BusyOp> {
    return new Map([...this.running].map(([mountPoint, ops]) => [mountPoint, ops.at(-1)!]));
  }

  /**
   * Runs `work` with `mountPoint` marked busy, so the tree and the status bar can show it. Two at
   * once (a prewarm while the warm list after a mount still runs) each keep their mark until they end.
   */
  async whileBusy<T>(mountPoint: string, remote: string, what: Busy, work: () => Promise<T>): Promise<T> {
    const entry: BusyOp = { what, remote };
    this.running.set(mountPoint, [...(this.running.get(mountPoint) ?? []), entry]);
    this.busyChanged.fire();
    try {
      return await work();
    } finally {
      const rest = (this.running.get(mountPoint) ?? []).filter((e) => e !== entry);
      if (rest.length) this.running.set(mountPoint, rest);
      else this.running.delete(mountPoint);
      this.busyChanged.fire();
    }
  }

  /** Says how far the operation running on `mountPoint` is ("40%"), for the tree and the status bar. */
  progress(mountPoint: string, text: string): void {
    const b = this.running.get(mountPoint)?.at(-1);
    if (!b || b.progress === text) return;
    b.progress = text;
    this.busyChanged.fire();
  }

  /** Says which step the operation on `mountPoint` is at (a bring-up: mounting → warming → starting app). */
  step(mountPoint: string, what: Busy, progress?: string): void {
    const b = this.running.get(mountPoint)?.at(-1);
    if (!b || (b.what === what && b.progress === progress)) return;
    b.what = what;
    b.progress = progress;
    this.busyChanged.fire();
  }

  didMount(m: Mount): void {
    this.mounted.fire(m);
  }

  /** The workspace's model link (`<first folder>/cache_hub` by default); undefined without a folder. */
  linkPath(): string | undefined {
    const folder = vscode.workspace.workspaceFolders?.[0];
    return folder && join(folder.uri.fsPath, this.settings.modelLink);
  }

  private reset(): void {
    this.located = undefined;
    void this.opened?.then(
      (c) => c.dispose(),
      () => undefined,
    );
    this.opened = undefined;
    this.remotesChanged.fire();
  }

  dispose(): void {
    void this.opened?.then(
      (c) => c.dispose(),
      () => undefined,
    );
    vscode.Disposable.from(...this.disposables).dispose();
  }
}
