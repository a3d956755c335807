// The mount indicator: one status bar item for the configured (or last used) mount. It follows
// the registry's events (and this window's running operations); it never spawns a process.
import * as vscode from 'vscode';
import type { MountCommands } from './mountCommands';
import { FIXES } from '../core/errors';
import { cacheTrouble } from '../core/mounts';
import { type Shown, shownOn } from './mountState';
import type { Services } from './services';

interface Followed {
  remote: string;
  mountPoint: string;
}

export class MountStatusBar implements vscode.Disposable {
  readonly item = vscode.window.createStatusBarItem('rclone.mount', vscode.StatusBarAlignment.Left, 10);
  private readonly subscriptions: vscode.Disposable[];

  constructor(
    private readonly svc: Services,
    private readonly mounts: MountCommands,
  ) {
    this.item.name = 'Rclone Mount';
    this.item.command = 'rclone.statusActions';
    this.subscriptions = [
      this.item,
      svc.registry.onDidChange(() => this.refresh()),
      svc.onDidChangeBusy(() => this.refresh()),
      svc.settings.onDidChange(() => this.refresh()),
      vscode.commands.registerCommand('rclone.statusActions', () => this.showActions()),
    ];
    this.refresh();
  }

  /** The mount shown: the first profile, else the last mounted here, else the first of ours mounted. */
  private followed(): Followed | undefined {
    const ours = this.svc.registry.mounts.find((m) => !m.external);
    return this.mounts.followed ?? (ours && { remote: ours.remote, mountPoint: ours.mountPoint });
  }

  refresh(): void {
    const f = this.followed();
    if (!f) {
      this.item.hide();
      return;
    }
    const s = shownOn(this.svc, f.mountPoint);
    const state = s?.state;
    const trouble = s?.mount && cacheTrouble(s.mount);
    this.item.text = trouble ? '$(error) cache full' : textFor(s);
    const alarm = trouble ? 'error' : state === 'stale' || state === 'not answering' ? 'warning' : undefined;
    this.item.backgroundColor = alarm && new vscode.ThemeColor(`statusBarItem.${alarm}Background`);
    const tip = new vscode.MarkdownString(undefined, true);
    tip.appendMarkdown(`**${f.remote}** on \`${f.mountPoint}\`\n\n`);
    tip.appendMarkdown(
      `State: ${state ?? 'not mounted'}${state === 'stale' ? ' (its rclone is gone: Remount / Repair)' : ''}\n\n`,
    );
    if (state === 'not answering') tip.appendMarkdown(`${FIXES.NotAnswering}\n\n`);
    if (trouble) tip.appendMarkdown(`**${trouble}.** ${FIXES.CacheFull}\n\n`);
    const mode =
      s?.mount?.profile?.cacheMode ?? this.svc.settings.profiles.find((p) => p.mountPoint === f.mountPoint)?.cacheMode;
    if (mode) tip.appendMarkdown(`Cache mode: ${mode}\n\n`);
    if (s?.mount?.external) tip.appendMarkdown('Mounted by another tool\n\n');
    else if (state === 'mounted') tip.appendMarkdown(`Pending uploads: ${s?.pendingUploads ?? 0}\n\n`);
    tip.appendMarkdown('Click for actions');
    this.item.tooltip = tip;
    this.item.accessibilityInformation = { label: `Rclone mount ${f.mountPoint}: ${state ?? 'not mounted'}` };
    this.item.show();
  }

  /** The next useful actions for the followed mount's state. */
  private async showActions(): Promise<void> {
    const f = this.followed();
    const state = f && shownOn(this.svc, f.mountPoint)?.state;
    const actions = actionsFor(f, state);
    actions.push({ label: '$(list-tree) Show Remotes', command: 'rclone.remotes.focus' });
    const picked = await this.svc.ui.pick(actions, { title: f ? `${f.remote} on ${f.mountPoint}` : 'Rclone' });
    if (picked) await vscode.commands.executeCommand(picked.command, ...(picked.arg === undefined ? [] : [picked.arg]));
  }

  dispose(): void {
    vscode.Disposable.from(...this.subscriptions).dispose();
  }
}

/** The indicator's text for a state: this window's running operation first, then the registry's. */
function textFor(s: Shown | undefined): string {
  switch (s?.state) {
    case 'mounting':
    case 'unmounting':
    case 'repairing':
      return `$(sync~spin) ${s.state}…`;
    case 'stale':
      return '$(warning) stale';
    case 'not answering':
      return '$(watch) not answering';
    case 'mounted':
      return s.pendingUploads > 0 ? `$(cloud-upload) ${s.pendingUploads} uploading` : '$(cloud) mounted';
    default:
      return '$(circle-slash) not mounted';
  }
}

interface Action {
  label: string;
  command: string;
  arg?: unknown;
}

/** What the indicator's click offers, by state. */
function actionsFor(f: Followed | undefined, state: Shown['state'] | undefined): Action[] {
  const log = { label: '$(output) Show Log', command: 'rclone.showLog', arg: f?.mountPoint };
  if (!f || !state) return [{ label: '$(plug) Mount', command: 'rclone.mount', arg: f }];
  switch (state) {
    case 'stale':
      return [{ label: '$(debug-restart) Remount / Repair', command: 'rclone.remount', arg: f.mountPoint }, log];
    case 'mounted':
      return [
        { label: '$(terminal) Open in Terminal', command: 'rclone.openTerminal', arg: f.mountPoint },
        { label: '$(folder-opened) Reveal in Explorer', command: 'rclone.revealMount', arg: f.mountPoint },
        { label: '$(debug-disconnect) Unmount', command: 'rclone.unmount', arg: f.mountPoint },
        { label: '$(debug-restart) Remount', command: 'rclone.remount', arg: f.mountPoint },
        log,
      ];
    default:
      return [log];
  }
}
