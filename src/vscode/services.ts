// The context every surface gets: settings, log, the questions channel, and the core services.
// rclone is found on first need (not at activation) and found again when its settings change.
import * as vscode from 'vscode';
import { RcloneConfig } from '../core/config';
import { isRcloneError } from '../core/errors';
import { MountRegistry } from '../core/mounts';
import { Rclone } from '../core/rclone';
import { Log } from './log';
import { Settings } from './settings';
import { type Ui, windowUi } from './ui';

/** What the welcome view shows: rclone missing, no remotes, or the tree. */
export type ViewState = 'missing' | 'noRemotes' | 'ready';
export type Busy = 'mounting' | 'unmounting' | 'repairing';

export class Services implements vscode.Disposable {
  readonly log = new Log();
  readonly settings: Settings;
  readonly registry: MountRegistry;
  ui: Ui = windowUi;
  private located: Promise<Rclone> | undefined;
  private opened: Promise<RcloneConfig> | undefined;
  private readonly remotesChanged = new vscode.EventEmitter<void>();
  /** The remotes may have changed: the config file was edited, or rclone or its config replaced. */
  readonly onDidChangeRemotes = this.remotesChanged.event;
  /** Mount points with an operation of ours running (mount, unmount, repair): which, and of what. */
  readonly busy = new Map<string, { what: Busy; remote: string }>();
  private readonly busyChanged = new vscode.EventEmitter<void>();
  readonly onDidChangeBusy = this.busyChanged.event;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(readonly context: vscode.ExtensionContext) {
    this.settings = new Settings(context.globalState);
    this.registry = new MountRegistry(() => this.rclone(), { log: this.log });
    this.disposables.push(
      this.settings,
      this.settings.onDidChangeRclone(() => this.reset()),
      { dispose: () => this.registry.dispose() },
      this.remotesChanged,
      this.busyChanged,
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
            `This workspace asks Rclone Dev Box to ${what.join('; ')}.`,
            'Allow it only if you trust this folder: what it names runs with your permissions. A changed value is asked about again.',
            'Allow',
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

  /** Runs `work` with `mountPoint` marked busy, so the tree and the status bar can show it. */
  async whileBusy<T>(mountPoint: string, remote: string, what: Busy, work: () => Promise<T>): Promise<T> {
    this.busy.set(mountPoint, { what, remote });
    this.busyChanged.fire();
    try {
      return await work();
    } finally {
      this.busy.delete(mountPoint);
      this.busyChanged.fire();
    }
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
