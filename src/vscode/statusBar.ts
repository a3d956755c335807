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
  credentialsOf,
  type Followed,
  followedMount,
  isBusy,
  ourMountPoints,
  remoteName,
  type Shown,
  shownOn,
  stateDetails,
  stateText,
  stateWord,
} from './mountState';
import type { AppView } from './apps';
import { formatBytes } from '../core/files';
import type { LinkedCopy } from '../core/localCopy';
import { linkLabel, untilText } from './models';
import type { Services } from './services';

export function register(svc: Services): MountStatusBar {
  return new MountStatusBar(svc);
}

class MountStatusBar implements vscode.Disposable {
  readonly item = vscode.window.createStatusBarItem('rclone.mount', vscode.StatusBarAlignment.Left, 10);
  private readonly subscriptions: vscode.Disposable[];

  constructor(private readonly svc: Services) {
    this.item.name = vscode.l10n.t('Rclone Mount');
    this.item.command = 'rclone.statusActions';
    this.subscriptions = [
      this.item,
      svc.registry.onDidChange((mounts) => {
        this.refresh();
        this.noticeFullCaches(mounts);
        this.noticeCredentials(mounts);
      }),
      svc.onDidChangeBusy(() => this.refresh()),
      svc.settings.onDidChange(() => this.refresh()),
      svc.models.onDidChange(() => this.refresh()),
      svc.apps.onDidChange(() => this.refresh()),
      svc.outputs.onDidChange(() => this.refresh()),
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
        vscode.l10n.t('The VFS cache disk of {0} is full: writes to it fail. {1}', m.mountPoint, FIXES.CacheFull),
        [
          {
            title: vscode.l10n.t('Show Log'),
            run: () => vscode.commands.executeCommand('rclone.showLog', m.mountPoint),
          },
        ],
      );
    }
  }

  /** Mounts told of credentials the endpoint no longer takes, and which rclone (pid) it was. */
  private readonly credentialsTold = new Map<string, number | undefined>();

  /**
   * Credentials that expire (or are revoked) while mounted make every request of the mount to its
   * bucket fail, whoever reads or writes (the app loading its model, a terminal): said once per
   * rclone, with the fix and Edit Remote; the status bar and the tree keep saying it meanwhile.
   */
  private noticeCredentials(mounts: readonly Mount[]): void {
    const now = new Set<string>();
    for (const m of mounts) {
      if (!m.credentials || m.external || m.state !== 'mounted') continue;
      now.add(m.mountPoint);
      if (this.credentialsTold.has(m.mountPoint) && this.credentialsTold.get(m.mountPoint) === m.pid) continue;
      this.credentialsTold.set(m.mountPoint, m.pid);
      const expired = m.credentials === 'expired';
      const message = expired
        ? vscode.l10n.t(
            'The credentials of the mount on {0} have expired: every request it makes to the bucket fails. {1}',
            m.mountPoint,
            FIXES.CredentialsExpired,
          )
        : vscode.l10n.t(
            'The endpoint refused the credentials of the mount on {0}: every request it makes to the bucket fails. {1}',
            m.mountPoint,
            FIXES.AuthFailed,
          );
      this.svc.ui.notify('warning', message, [
        {
          title: vscode.l10n.t('Edit Remote…'),
          run: () => vscode.commands.executeCommand('rclone.editRemote', remoteName(m.remote)),
        },
        {
          title: vscode.l10n.t('Show Log'),
          run: () => vscode.commands.executeCommand('rclone.showLog', m.mountPoint),
        },
      ]);
    }
    for (const mp of this.credentialsTold.keys()) if (!now.has(mp)) this.credentialsTold.delete(mp);
  }

  followed(): Followed | undefined {
    return followedMount(this.svc);
  }

  refresh(): void {
    const f = this.followed();
    const app = this.svc.apps.current;
    this.item.show();
    // Copy mode: the model link points at a local copy and nothing is mounted or running there.
    const copy = this.svc.models.copy;
    const followedState = f && shownOn(this.svc, f.mountPoint);
    if (copy && !followedState?.mount && !(followedState && isBusy(followedState))) {
      this.showCopy(copy, app);
      return;
    }
    if (!f && app) {
      this.item.text = `$(${app.phase === 'ready' ? 'vm-running' : 'sync~spin'}) ${appText(app)}`;
      this.item.backgroundColor = undefined;
      this.item.tooltip = appLine(app);
      this.item.accessibilityInformation = { label: vscode.l10n.t('Rclone: {0}', appText(app)) };
      return;
    }
    if (!f) {
      // Nothing mounted or configured yet: still there, so the first mount is one click away.
      this.item.text = '$(cloud) Rclone';
      this.item.backgroundColor = undefined;
      this.item.tooltip = vscode.l10n.t('Rclone Dev Box: nothing mounted yet. Click to mount a bucket.');
      this.item.accessibilityInformation = { label: vscode.l10n.t('Rclone: nothing mounted') };
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
    tip.appendMarkdown(`${vscode.l10n.t('**{0}** on `{1}`', f.remote, f.mountPoint)}\n\n`);
    for (const line of stateDetails(s, s?.mount?.profile?.cacheMode ?? profile?.cacheMode))
      tip.appendMarkdown(`${line}\n\n`);
    for (const line of modelLines(this.svc, f.mountPoint)) tip.appendMarkdown(`${line}\n\n`);
    if (app) tip.appendMarkdown(`${appLine(app)}\n\n`);
    if (f.why) tip.appendMarkdown(`${vscode.l10n.t('Shown here: {0}', f.why)}\n\n`);
    tip.appendMarkdown(vscode.l10n.t('Click for actions'));
    this.item.tooltip = tip;
    this.item.accessibilityInformation = {
      label:
        app?.phase === 'ready'
          ? vscode.l10n.t(
              'Rclone mount {0}: {1}, {2}',
              f.mountPoint,
              credentialsOf(s) ?? stateWord(s?.state),
              appText(app),
            )
          : vscode.l10n.t('Rclone mount {0}: {1}', f.mountPoint, credentialsOf(s) ?? stateWord(s?.state)),
    };
  }

  /** `local copy cache_hub_v23 · 12.4 GB · 2 to upload`, or the app once it runs. */
  private showCopy(copy: LinkedCopy, app: AppView | undefined): void {
    const { pending } = this.svc.outputs;
    const text = vscode.l10n.t('local copy {0} · {1}', copy.version, formatBytes(copy.bytes));
    const uploads = pending ? ` · ${vscode.l10n.t('{0} to upload', pending)}` : '';
    this.item.text = app
      ? `$(${app.phase === 'ready' ? 'vm-running' : 'sync~spin'}) ${appText(app)}${uploads}`
      : `$(file-symlink-directory) ${text}${uploads}`;
    this.item.backgroundColor = undefined;
    const tip = new vscode.MarkdownString(undefined, true);
    tip.appendMarkdown(
      `${vscode.l10n.t('Model link: `{0}` → local copy `{1}` in `{2}` ({3})', linkLabel(this.svc), copy.version, copy.root, formatBytes(copy.bytes))}\n\n`,
    );
    if (pending)
      tip.appendMarkdown(
        `${vscode.l10n.t('{0} output files wait to be uploaded to {1}', pending, this.svc.outputs.outputs.map((o) => o.remote).join(', '))}\n\n`,
      );
    if (app) tip.appendMarkdown(`${appLine(app)}\n\n`);
    tip.appendMarkdown(vscode.l10n.t('Click for actions'));
    this.item.tooltip = tip;
    this.item.accessibilityInformation = {
      label: vscode.l10n.t('Rclone: {0}', app ? `${text}, ${appText(app)}${uploads}` : `${text}${uploads}`),
    };
  }

  /** The next useful actions for the followed mount's state. */
  private async showActions(): Promise<void> {
    const f = this.followed();
    const s = f && shownOn(this.svc, f.mountPoint);
    const app = this.svc.apps.current;
    const copy = this.svc.models.copy && !s?.mount;
    const actions = [
      ...(app ? appActions(app) : []),
      ...(this.svc.outputs.outputs.length
        ? [{ label: `$(cloud-upload) ${vscode.l10n.t('Upload Outputs')}`, command: 'rclone.uploadOutputs' }]
        : []),
      ...(copy ? [{ label: `$(rocket) ${vscode.l10n.t('Bring Up Workspace')}`, command: 'rclone.bringUp' }] : []),
      ...(copy ? [] : [...credentialActions(s), ...actionsFor(f, s?.state)]),
    ];
    actions.push({ label: `$(list-tree) ${vscode.l10n.t('Show Remotes')}`, command: 'rclone.remotes.focus' });
    const picked = await this.svc.ui.pick(actions, {
      title: f ? vscode.l10n.t('{0} on {1}', f.remote, f.mountPoint) : 'Rclone',
    });
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
  if (linked) lines.push(vscode.l10n.t('Model link: `{0}` → `{1}`', linkLabel(svc), linked));
  for (const w of svc.models.warmthOf(mountPoint))
    lines.push(vscode.l10n.t('Warm: `{0}` (listings kept until {1})', w.path || '/', untilText(w.until)));
  return lines;
}

/** "app ready :7860", "starting app…". */
function appText(app: AppView): string {
  if (app.phase !== 'ready') return vscode.l10n.t('starting app…');
  return app.port ? vscode.l10n.t('app ready :{0}', app.port) : vscode.l10n.t('app ready');
}

function appLine(app: AppView): string {
  if (app.phase !== 'ready') return vscode.l10n.t('App: {0} starting', app.label);
  const { url, record } = app;
  if (url)
    return record
      ? vscode.l10n.t('App: {0} at {1} (pid {2})', app.label, url, record.pid)
      : vscode.l10n.t('App: {0} at {1}', app.label, url);
  return record ? vscode.l10n.t('App: {0} (pid {1})', app.label, record.pid) : vscode.l10n.t('App: {0}', app.label);
}

/** What the click offers for the app: the page, its output, stopping it. */
function appActions(app: AppView): Action[] {
  return [
    ...(app.url
      ? [{ label: `$(globe) ${vscode.l10n.t('Open in Browser')}`, command: 'rclone.openApp', arg: app }]
      : []),
    { label: `$(terminal) ${vscode.l10n.t('Show Terminal')}`, command: 'rclone.showAppTerminal', arg: app },
    { label: `$(debug-stop) ${vscode.l10n.t('Stop App')}`, command: 'rclone.stopApp', arg: app },
  ];
}

/** The indicator's icon: a running operation first, then writes failing, then the state. */
function iconFor(s: Shown | undefined): string {
  if (!s) return 'circle-slash';
  if (isBusy(s)) return 'sync~spin';
  if (alarmOf(s) === 'error') return 'error';
  if (s.state === 'stale' || credentialsOf(s)) return 'warning';
  if (s.state === 'not answering') return 'watch';
  return s.pendingUploads > 0 ? 'cloud-upload' : 'cloud';
}

interface Action {
  label: string;
  command: string;
  arg?: unknown;
}

/** What the click offers first when the endpoint no longer takes the mount's credentials: the fix. */
function credentialActions(s: Shown | undefined): Action[] {
  if (!s?.mount || !credentialsOf(s)) return [];
  return [
    {
      label: `$(key) ${vscode.l10n.t('Edit Remote…')}`,
      command: 'rclone.editRemote',
      arg: remoteName(s.mount.remote),
    },
  ];
}

/** What the indicator's click offers, by state. */
function actionsFor(f: Followed | undefined, state: Shown['state'] | undefined): Action[] {
  const log = { label: `$(output) ${vscode.l10n.t('Show Log')}`, command: 'rclone.showLog', arg: f?.mountPoint };
  if (!f) return [{ label: `$(plug) ${vscode.l10n.t('Mount…')}`, command: 'rclone.mount' }];
  if (!state)
    return [
      {
        label: `$(plug) ${vscode.l10n.t('Mount')}`,
        command: 'rclone.mount',
        arg: { remote: f.remote, mountPoint: f.mountPoint },
      },
      { label: `$(rocket) ${vscode.l10n.t('Bring Up Workspace')}`, command: 'rclone.bringUp' },
    ];
  switch (state) {
    case 'stale':
      return [
        {
          label: `$(debug-restart) ${vscode.l10n.t('Remount / Repair')}`,
          command: 'rclone.remount',
          arg: f.mountPoint,
        },
        log,
      ];
    case 'mounted':
    case 'warming': // up and usable while its listings are read
      return [
        {
          label: `$(terminal) ${vscode.l10n.t('Open in Terminal')}`,
          command: 'rclone.openTerminal',
          arg: f.mountPoint,
        },
        {
          label: `$(folder-opened) ${vscode.l10n.t('Reveal in Explorer')}`,
          command: 'rclone.revealMount',
          arg: f.mountPoint,
        },
        { label: `$(rocket) ${vscode.l10n.t('Bring Up Workspace')}`, command: 'rclone.bringUp' },
        { label: `$(flame) ${vscode.l10n.t('Prewarm…')}`, command: 'rclone.prewarm' },
        { label: `$(link) ${vscode.l10n.t('Link Model Version…')}`, command: 'rclone.relink' },
        { label: `$(discard) ${vscode.l10n.t('Roll Back Model Link')}`, command: 'rclone.rollback' },
        { label: `$(debug-disconnect) ${vscode.l10n.t('Unmount')}`, command: 'rclone.unmount', arg: f.mountPoint },
        { label: `$(debug-restart) ${vscode.l10n.t('Remount')}`, command: 'rclone.remount', arg: f.mountPoint },
        log,
      ];
    default:
      return [log];
  }
}
