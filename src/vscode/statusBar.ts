// The mount indicator: one status bar item for the followed mount (see mountState.ts), or, with
// nothing to follow yet, a plain "Rclone" whose click offers Mount…. It follows the registry's
// events (and this window's running operations); it never spawns a process.
import { basename } from 'node:path';
import * as vscode from 'vscode';
import { FIXES } from '../core/errors';
import type { Mount } from '../core/mounts';
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
import type { AppView } from './apps';
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
      svc.registry.onDidChange((mounts) => {
        this.refresh();
        this.noticeFullCaches(mounts);
      }),
      svc.onDidChangeBusy(() => this.refresh()),
      svc.settings.onDidChange(() => this.refresh()),
      svc.models.onDidChange(() => this.refresh()),
      svc.apps.onDidChange(() => this.refresh()),
      command(svc, 'rclone.statusActions', () => this.showActions()),
    ];
    this.refresh();
  }

  /** Mount points whose cache disk was full at the last look: told once, until it is not. */
  private readonly full = new Set<string>();

  /**
   * A write that fails because the VFS cache's disk is full is news whoever wrote it (a terminal,
   * the app): said once in a notification, when it starts; the status bar keeps saying it meanwhile.
   */
  private noticeFullCaches(mounts: readonly Mount[]): void {
    for (const m of mounts) {
      if (!m.outOfSpace) {
        this.full.delete(m.mountPoint);
        continue;
      }
      if (this.full.has(m.mountPoint)) continue;
      this.full.add(m.mountPoint);
      this.svc.ui.notify(
        'error',
        `The VFS cache disk of ${m.mountPoint} is full: writes to it fail. ${FIXES.CacheFull}`,
        [{ title: 'Show Log', run: () => vscode.commands.executeCommand('rclone.showLog', m.mountPoint) }],
      );
    }
  }

  followed(): Followed | undefined {
    return followedMount(this.svc);
  }

  refresh(): void {
    const f = this.followed();
    const app = this.svc.apps.current;
    this.item.show();
    if (!f && app) {
      this.item.text = `$(${app.phase === 'ready' ? 'vm-running' : 'sync~spin'}) ${appText(app)}`;
      this.item.backgroundColor = undefined;
      this.item.tooltip = appLine(app);
      this.item.accessibilityInformation = { label: `Rclone: ${appText(app)}` };
      return;
    }
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
    const alarm = alarmOf(s);
    // The app's state once the mount is quiet and well (a running step or a trouble is news first).
    const showApp = app && !alarm && !(s && isBusy(s));
    this.item.text = showApp
      ? `$(${app.phase === 'ready' ? 'vm-running' : 'sync~spin'}) ${appText(app)}`
      : `$(${iconFor(s)}) ${several ? `${basename(f.mountPoint)}: ` : ''}${stateText(s)}`;
    this.item.backgroundColor = alarm && new vscode.ThemeColor(`statusBarItem.${alarm}Background`);
    const profile = this.svc.settings.profiles.find((p) => p.mountPoint === f.mountPoint);
    const tip = new vscode.MarkdownString(undefined, true);
    tip.appendMarkdown(`**${f.remote}** on \`${f.mountPoint}\`\n\n`);
    for (const line of stateDetails(s, s?.mount?.profile?.cacheMode ?? profile?.cacheMode))
      tip.appendMarkdown(`${line}\n\n`);
    for (const line of modelLines(this.svc, f.mountPoint)) tip.appendMarkdown(`${line}\n\n`);
    if (app) tip.appendMarkdown(`${appLine(app)}\n\n`);
    if (f.why) tip.appendMarkdown(`Shown here: ${f.why}\n\n`);
    tip.appendMarkdown('Click for actions');
    this.item.tooltip = tip;
    this.item.accessibilityInformation = {
      label: `Rclone mount ${f.mountPoint}: ${s?.state ?? 'not mounted'}${app?.phase === 'ready' ? `, ${appText(app)}` : ''}`,
    };
  }

  /** The next useful actions for the followed mount's state. */
  private async showActions(): Promise<void> {
    const f = this.followed();
    const state = f && shownOn(this.svc, f.mountPoint)?.state;
    const app = this.svc.apps.current;
    const actions = [...(app ? appActions(app) : []), ...actionsFor(f, state)];
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

/** "app ready :7860", "starting app…". */
function appText(app: AppView): string {
  if (app.phase !== 'ready') return 'starting app…';
  return app.port ? `app ready :${app.port}` : 'app ready';
}

function appLine(app: AppView): string {
  const where = app.url ? ` at ${app.url}` : '';
  const pid = app.record ? ` (pid ${app.record.pid})` : '';
  return `App: ${app.label}${app.phase === 'ready' ? `${where}${pid}` : ' starting'}`;
}

/** What the click offers for the app: the page, its output, stopping it. */
function appActions(app: AppView): Action[] {
  return [
    ...(app.url ? [{ label: '$(globe) Open in Browser', command: 'rclone.openApp', arg: app }] : []),
    { label: '$(terminal) Show Terminal', command: 'rclone.showAppTerminal', arg: app },
    { label: '$(debug-stop) Stop App', command: 'rclone.stopApp', arg: app },
  ];
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
    return [
      { label: '$(plug) Mount', command: 'rclone.mount', arg: { remote: f.remote, mountPoint: f.mountPoint } },
      { label: '$(rocket) Bring Up Workspace', command: 'rclone.bringUp' },
    ];
  switch (state) {
    case 'stale':
      return [{ label: '$(debug-restart) Remount / Repair', command: 'rclone.remount', arg: f.mountPoint }, log];
    case 'mounted':
    case 'warming': // up and usable while its listings are read
      return [
        { label: '$(terminal) Open in Terminal', command: 'rclone.openTerminal', arg: f.mountPoint },
        { label: '$(folder-opened) Reveal in Explorer', command: 'rclone.revealMount', arg: f.mountPoint },
        { label: '$(rocket) Bring Up Workspace', command: 'rclone.bringUp' },
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
