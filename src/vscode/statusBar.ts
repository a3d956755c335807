// The mount indicator: one status bar item for the followed mount (see mountState.ts), or, with
// nothing to follow yet, a plain "Rclone" whose click offers Mount…. It follows the registry's
// events (and this window's running operations); it never spawns a process.
import { basename } from 'node:path';
import * as vscode from 'vscode';
import { command } from './commands';
import {
  alarmOf,
  type Followed,
  followedMount,
  isBusy,
  ourMountPoints,
  type Shown,
  shownOn,
  stateDetails,
  stateText,
} from './mountState';
import { linkLabel, untilText } from './models';
import type { Services } from './services';

export function register(svc: Services): MountStatusBar {
  return new MountStatusBar(svc);
}

class MountStatusBar implements vscode.Disposable {
  readonly item = vscode.window.createStatusBarItem('rclone.mount', vscode.StatusBarAlignment.Left, 10);
  private readonly subscriptions: vscode.Disposable[];

  constructor(private readonly svc: Services) {
    this.item.name = 'Rclone Mount';
    this.item.command = 'rclone.statusActions';
    this.subscriptions = [
      this.item,
      svc.registry.onDidChange(() => this.refresh()),
      svc.onDidChangeBusy(() => this.refresh()),
      svc.settings.onDidChange(() => this.refresh()),
      svc.models.onDidChange(() => this.refresh()),
      command(svc, 'rclone.statusActions', () => this.showActions()),
    ];
    this.refresh();
  }

  followed(): Followed | undefined {
    return followedMount(this.svc);
  }

  refresh(): void {
    const f = this.followed();
    this.item.show();
    if (!f) {
      // Nothing mounted or configured yet: still there, so the first mount is one click away.
      this.item.text = '$(cloud) Rclone';
      this.item.backgroundColor = undefined;
      this.item.tooltip = 'Rclone Dev Box: nothing mounted yet. Click to mount a bucket.';
      this.item.accessibilityInformation = { label: 'Rclone: nothing mounted' };
      return;
    }
    const s = shownOn(this.svc, f.mountPoint);
    // With more than one mount of ours, say which one this is.
    const several = [...ourMountPoints(this.svc)].some((mp) => mp !== f.mountPoint);
    this.item.text = `$(${iconFor(s)}) ${several ? `${basename(f.mountPoint)}: ` : ''}${stateText(s)}`;
    const alarm = alarmOf(s);
    this.item.backgroundColor = alarm && new vscode.ThemeColor(`statusBarItem.${alarm}Background`);
    const profile = this.svc.settings.profiles.find((p) => p.mountPoint === f.mountPoint);
    const tip = new vscode.MarkdownString(undefined, true);
    tip.appendMarkdown(`**${f.remote}** on \`${f.mountPoint}\`\n\n`);
    for (const line of stateDetails(s, s?.mount?.profile?.cacheMode ?? profile?.cacheMode))
      tip.appendMarkdown(`${line}\n\n`);
    for (const line of modelLines(this.svc, f.mountPoint)) tip.appendMarkdown(`${line}\n\n`);
    if (f.why) tip.appendMarkdown(`Shown here: ${f.why}\n\n`);
    tip.appendMarkdown('Click for actions');
    this.item.tooltip = tip;
    this.item.accessibilityInformation = { label: `Rclone mount ${f.mountPoint}: ${s?.state ?? 'not mounted'}` };
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

/** Where the model link points (when into this mount) and until when its listings stay warm. */
function modelLines(svc: Services, mountPoint: string): string[] {
  const lines: string[] = [];
  const linked = svc.models.linkedIn(mountPoint);
  if (linked) lines.push(`Model link: \`${linkLabel(svc)}\` → \`${linked}\``);
  for (const w of svc.models.warmthOf(mountPoint))
    lines.push(`Warm: \`${w.path || '/'}\` (listings kept until ${untilText(w.until)})`);
  return lines;
}

/** The indicator's icon: a running operation first, then writes failing, then the state. */
function iconFor(s: Shown | undefined): string {
  if (!s) return 'circle-slash';
  if (isBusy(s)) return 'sync~spin';
  if (alarmOf(s) === 'error') return 'error';
  if (s.state === 'stale') return 'warning';
  if (s.state === 'not answering') return 'watch';
  return s.pendingUploads > 0 ? 'cloud-upload' : 'cloud';
}

interface Action {
  label: string;
  command: string;
  arg?: unknown;
}

/** What the indicator's click offers, by state. */
function actionsFor(f: Followed | undefined, state: Shown['state'] | undefined): Action[] {
  const log = { label: '$(output) Show Log', command: 'rclone.showLog', arg: f?.mountPoint };
  if (!f) return [{ label: '$(plug) Mount…', command: 'rclone.mount' }];
  if (!state)
    return [{ label: '$(plug) Mount', command: 'rclone.mount', arg: { remote: f.remote, mountPoint: f.mountPoint } }];
  switch (state) {
    case 'stale':
      return [{ label: '$(debug-restart) Remount / Repair', command: 'rclone.remount', arg: f.mountPoint }, log];
    case 'mounted':
    case 'warming': // up and usable while its listings are read
      return [
        { label: '$(terminal) Open in Terminal', command: 'rclone.openTerminal', arg: f.mountPoint },
        { label: '$(folder-opened) Reveal in Explorer', command: 'rclone.revealMount', arg: f.mountPoint },
        { label: '$(flame) Prewarm…', command: 'rclone.prewarm' },
        { label: '$(link) Link Model Version…', command: 'rclone.relink' },
        { label: '$(discard) Roll Back Model Link', command: 'rclone.rollback' },
        { label: '$(debug-disconnect) Unmount', command: 'rclone.unmount', arg: f.mountPoint },
        { label: '$(debug-restart) Remount', command: 'rclone.remount', arg: f.mountPoint },
        log,
      ];
    default:
      return [log];
  }
}
