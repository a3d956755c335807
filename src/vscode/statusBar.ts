// The mount indicator: one status bar item for the configured (or last used) mount. It follows
// the registry's events (and this window's running operations); it never spawns a process.
import * as vscode from 'vscode';
import type { MountCommands } from './mountCommands';
import { shownOn } from './mountState';
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
    this.item.text =
      state === 'mounting'
        ? '$(sync~spin) mounting…'
        : state === 'unmounting'
          ? '$(sync~spin) unmounting…'
          : state === 'repairing'
            ? '$(sync~spin) repairing…'
            : state === 'stale'
              ? '$(warning) stale'
              : s && s.pendingUploads > 0
                ? `$(cloud-upload) ${s.pendingUploads} uploading`
                : state === 'mounted'
                  ? '$(cloud) mounted'
                  : '$(circle-slash) not mounted';
    this.item.backgroundColor =
      state === 'stale' ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
    const tip = new vscode.MarkdownString(undefined, true);
    tip.appendMarkdown(`**${f.remote}** on \`${f.mountPoint}\`\n\n`);
    tip.appendMarkdown(
      `State: ${state ?? 'not mounted'}${state === 'stale' ? ' (its rclone is gone: Remount / Repair)' : ''}\n\n`,
    );
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
    const actions: { label: string; command: string; arg?: unknown }[] =
      !f || !state
        ? [{ label: '$(plug) Mount', command: 'rclone.mount', arg: f }]
        : state === 'stale'
          ? [
              { label: '$(debug-restart) Remount / Repair', command: 'rclone.remount', arg: f.mountPoint },
              { label: '$(output) Show Log', command: 'rclone.showLog', arg: f.mountPoint },
            ]
          : state === 'mounted'
            ? [
                { label: '$(terminal) Open in Terminal', command: 'rclone.openTerminal', arg: f.mountPoint },
                { label: '$(folder-opened) Reveal in Explorer', command: 'rclone.revealMount', arg: f.mountPoint },
                { label: '$(debug-disconnect) Unmount', command: 'rclone.unmount', arg: f.mountPoint },
                { label: '$(debug-restart) Remount', command: 'rclone.remount', arg: f.mountPoint },
                { label: '$(output) Show Log', command: 'rclone.showLog', arg: f.mountPoint },
              ]
            : [{ label: '$(output) Show Log', command: 'rclone.showLog', arg: f.mountPoint }];
    actions.push({ label: '$(list-tree) Show Remotes', command: 'rclone.remotes.focus' });
    const picked = await this.svc.ui.pick(actions, { title: f ? `${f.remote} on ${f.mountPoint}` : 'Rclone' });
    if (picked) await vscode.commands.executeCommand(picked.command, ...(picked.arg === undefined ? [] : [picked.arg]));
  }

  dispose(): void {
    vscode.Disposable.from(...this.subscriptions).dispose();
  }
}
