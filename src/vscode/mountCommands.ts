// Mount…, Unmount, Remount / Repair, Open in Terminal, Reveal in Explorer, Show Log.
// Long work runs under a cancellable progress notification; failures show the classified message.
import { basename, isAbsolute } from 'node:path';
import * as vscode from 'vscode';
import { isRcloneError } from '../core/errors';
import { listBuckets, location } from '../core/listing';
import type { Mount } from '../core/mounts';
import type { MountProfile } from '../core/profile';
import { abortOn } from './cancel';
import { command } from './commands';
import { showFailure } from './failures';
import { showLogFile } from './log';
import { byFollowed, rememberMount } from './mountState';
import { PathNode } from './nodes';
import type { Services } from './services';
import { sameRemote } from './settings';

/** What a mount command was invoked on: a tree row, a mount point, a profile, or nothing (palette). */
type Target = PathNode | string | Partial<MountProfile> | undefined;

const isProfile = (t: Target): t is MountProfile =>
  typeof t === 'object' && !(t instanceof PathNode) && typeof t.remote === 'string' && typeof t.mountPoint === 'string';

/** The commands, and what activation and deactivation run (the integration tests drive them too). */
export interface MountSurface extends vscode.Disposable {
  /** Mounts the profiles with `rclone.autoMount` on; called after activation, never during it. */
  autoMount(): Promise<void>;
  /** With `rclone.unmountOnExit`: unmounts what this window mounted, never with uploads pending. */
  unmountStarted(): Promise<void>;
}

export function register(svc: Services): MountSurface {
  const c = new MountCommands(svc);
  const disposables = vscode.Disposable.from(
    command(svc, 'rclone.mount', (t?: Target) => c.mount(t)),
    command(svc, 'rclone.unmount', (t?: Target) => c.unmount(t)),
    command(svc, 'rclone.remount', (t?: Target) => c.remount(t)),
    command(svc, 'rclone.openTerminal', async (t?: Target) => {
      const m = await c.chooseMount(t, vscode.l10n.t('Open which mount in a terminal?'), (x) => x.state === 'mounted');
      if (m) vscode.window.createTerminal({ name: `rclone: ${basename(m.mountPoint)}`, cwd: m.mountPoint }).show();
    }),
    command(svc, 'rclone.revealMount', (t?: Target) => c.reveal(t)),
    command(svc, 'rclone.showLog', async (t?: Target) => {
      const m = t === undefined ? undefined : await c.chooseMount(t, '');
      if (m?.logFile) await showLogFile(m.logFile);
      else svc.log.show();
    }),
  );
  return {
    autoMount: () => c.autoMount(),
    unmountStarted: () => c.unmountStarted(),
    dispose: () => disposables.dispose(),
  };
}

class MountCommands {
  /**
   * Mount points this window mounted, with the pid of the rclone it started (for
   * `rclone.unmountOnExit`): once that rclone is gone, whatever is mounted there is someone else's.
   */
  private readonly started = new Map<string, number | undefined>();

  constructor(private readonly svc: Services) {}

  async mount(target?: Target): Promise<Mount | undefined> {
    const profile = await this.chooseProfile(target);
    if (!profile) return undefined;
    const { svc } = this;
    const remoteName = profile.remote.slice(0, profile.remote.indexOf(':'));
    try {
      const mount = await vscode.window.withProgress(
        {
          location: vscode.ProgressLocation.Notification,
          title: vscode.l10n.t('Mounting {0} on {1}', profile.remote, profile.mountPoint),
          cancellable: true,
        },
        (_progress, token) =>
          // Remembered while still busy: the end of "mounting" repaints the status bar, which follows it.
          svc.whileBusy(profile.mountPoint, profile.remote, 'mounting', async () => {
            const mounted = await svc.registry.mount(profile, { signal: abortOn(token) });
            await rememberMount(svc, profile);
            return mounted;
          }),
      );
      if (mount.started) {
        this.started.set(mount.mountPoint, mount.pid); // someone else's mount is never ours to unmount on exit
        svc.didMount(mount);
      }
      svc.ui.notify('info', vscode.l10n.t('Mounted {0} on {1}.', profile.remote, mount.mountPoint), [
        {
          title: vscode.l10n.t('Open in Terminal'),
          run: () => vscode.commands.executeCommand('rclone.openTerminal', mount.mountPoint),
        },
        {
          title: vscode.l10n.t('Reveal in Explorer'),
          run: () => vscode.commands.executeCommand('rclone.revealMount', mount.mountPoint),
        },
      ]);
      return mount;
    } catch (e) {
      showFailure(svc, e, { remote: remoteName, mountPoint: profile.mountPoint });
      return undefined;
    }
  }

  async unmount(target?: Target, force = false): Promise<boolean> {
    const m = await this.chooseMount(target, vscode.l10n.t('Unmount which mount?'));
    if (!m) return false;
    const { svc } = this;
    try {
      await vscode.window.withProgress(
        {
          location: vscode.ProgressLocation.Notification,
          title: vscode.l10n.t('Unmounting {0}', m.mountPoint),
          cancellable: true,
        },
        (progress, token) =>
          svc.whileBusy(m.mountPoint, m.remote, 'unmounting', () =>
            svc.registry.unmount(m.mountPoint, {
              force,
              signal: abortOn(token),
              onProgress: (n) =>
                progress.report({
                  message: n ? vscode.l10n.t('waiting for {0} to upload', files(n)) : vscode.l10n.t('uploads done'),
                }),
            }),
          ),
      );
      this.started.delete(m.mountPoint);
      return true;
    } catch (e) {
      const anyway = isRcloneError(e, 'UploadsPending')
        ? [{ title: vscode.l10n.t('Unmount Anyway'), run: () => this.unmount(m.mountPoint, true) }]
        : [];
      showFailure(svc, e, { mountPoint: m.mountPoint, logFile: m.logFile }, anyway);
      return false;
    }
  }

  /** Repairs a stale mount and mounts it again (or just remounts a live one). */
  async remount(target?: Target): Promise<Mount | undefined> {
    const m = await this.chooseMount(target, vscode.l10n.t('Remount or repair which mount?'));
    if (!m) return undefined;
    const { svc } = this;
    // A whole profile given (e.g. the same one in full cache mode), else the profile as the settings
    // say now (an edit takes effect), else as it was mounted.
    const given = isProfile(target) ? target : undefined;
    const profile = given ?? svc.settings.profiles.find((p) => svc.registry.find(p.mountPoint) === m) ?? m.profile;
    try {
      return await vscode.window.withProgress(
        {
          location: vscode.ProgressLocation.Notification,
          title: vscode.l10n.t('Repairing {0}', m.mountPoint),
          cancellable: true,
        },
        async (_p, token) => {
          if (!profile) {
            await svc.whileBusy(m.mountPoint, m.remote, 'repairing', () => svc.registry.repair(m.mountPoint));
            svc.ui.notify('info', vscode.l10n.t('Cleaned the dead mount at {0}.', m.mountPoint), [
              {
                title: vscode.l10n.t('Mount Again'),
                run: () => this.mount({ remote: m.remote, mountPoint: m.mountPoint }),
              },
            ]);
            return undefined;
          }
          // Core waits for uploads, and mounts the old profile again if the new one fails.
          const mounted = await svc.whileBusy(m.mountPoint, m.remote, 'repairing', () =>
            svc.registry.remount(profile, { signal: abortOn(token) }),
          );
          if (mounted.started) svc.didMount(mounted);
          return mounted;
        },
      );
    } catch (e) {
      showFailure(svc, e, {
        remote: m.remote.slice(0, m.remote.indexOf(':')),
        mountPoint: m.mountPoint,
        logFile: m.logFile,
      });
      return undefined;
    }
  }

  async reveal(target?: Target): Promise<void> {
    const m = await this.chooseMount(target, vscode.l10n.t('Reveal which mount?'), (x) => x.state === 'mounted');
    if (!m) return;
    const uri = vscode.Uri.file(m.mountPoint);
    if (vscode.workspace.getWorkspaceFolder(uri)) {
      await vscode.commands.executeCommand('revealInExplorer', uri);
      return;
    }
    const add = vscode.l10n.t('Add as Workspace Folder');
    const choice = await this.svc.ui.pick([{ label: add }, { label: vscode.l10n.t('Open in New Window') }], {
      title: vscode.l10n.t('{0} is not in this workspace', m.mountPoint),
    });
    if (choice?.label === add) {
      vscode.workspace.updateWorkspaceFolders(vscode.workspace.workspaceFolders?.length ?? 0, 0, {
        uri,
        name: vscode.l10n.t('{0} (mount)', m.remote),
      });
    } else if (choice) await vscode.commands.executeCommand('vscode.openFolder', uri, { forceNewWindow: true });
  }

  /** A profile to mount: from settings when one matches, else the remote and a mount point asked for. */
  private async chooseProfile(target: Target): Promise<MountProfile | undefined> {
    const { settings } = this.svc;
    let remote: string | undefined;
    if (target instanceof PathNode) remote = target.location;
    else if (typeof target === 'string') remote = target;
    else if (target?.remote) {
      if (target.mountPoint)
        return {
          ...(settings.profileFor(target.remote) ?? { cacheMode: settings.defaultCacheMode }),
          ...target,
        } as MountProfile;
      remote = target.remote;
    } else remote = await this.pickMountable();
    if (!remote) return undefined;
    const configured = settings.profileFor(remote);
    if (configured) return configured;
    const name =
      remote
        .slice(remote.indexOf(':') + 1)
        .split('/')
        .filter(Boolean)
        .pop() ?? remote.slice(0, remote.indexOf(':'));
    const mountPoint = await this.svc.ui.input({
      title: vscode.l10n.t('Mount {0}', remote),
      prompt: vscode.l10n.t('Mount point (an empty or new folder; a profile in "rclone.mounts" skips this question)'),
      value: `${settings.mountRoot.replace(/\/+$/, '')}/${name}`,
      validateInput: (v) =>
        isAbsolute(v) ? undefined : vscode.l10n.t('Give an absolute path, e.g. /mnt/index-tts-storage'),
    });
    return mountPoint ? { remote, mountPoint, cacheMode: settings.defaultCacheMode } : undefined;
  }

  /**
   * Asks what to mount: profiles first, then every bucket of every remote, listed while the pick
   * is open (closing the pick ends the listings still running).
   */
  private async pickMountable(): Promise<string | undefined> {
    const stop = new AbortController();
    try {
      const options = {
        title: vscode.l10n.t('Mount'),
        placeHolder: vscode.l10n.t('What to mount (remote:bucket)'),
        matchOnDescription: true,
      };
      return (await this.svc.ui.pick(this.mountables(stop.signal), options))?.label;
    } finally {
      stop.abort();
    }
  }

  private async mountables(signal: AbortSignal): Promise<vscode.QuickPickItem[]> {
    const items: vscode.QuickPickItem[] = this.svc.settings.profiles.map((p) => ({
      label: p.remote,
      description: p.mountPoint,
      detail: vscode.l10n.t('mount profile'),
    }));
    const rclone = await this.svc.rclone();
    const remotes = await (await this.svc.config()).remotes();
    const lists = await Promise.all(
      remotes.map((r) => listBuckets(rclone, r.name, { timeoutMs: 20_000, limit: 200, signal }).catch(() => [])),
    );
    remotes.forEach((r, i) => {
      for (const b of lists[i]!) {
        const label = location(r.name, b.name);
        if (!items.some((x) => x.label === label)) items.push({ label, description: r.provider ?? r.type });
      }
    });
    return items;
  }

  /** The mount a command is about; asks when there are several and none was given. */
  async chooseMount(
    target: Target,
    question: string,
    fits: (m: Mount) => boolean = () => true,
  ): Promise<Mount | undefined> {
    const { registry } = this.svc;
    await registry.refresh();
    const given =
      target instanceof PathNode ? target.location : typeof target === 'string' ? target : target?.mountPoint;
    if (given !== undefined) {
      const found = registry.find(given) ?? registry.mounts.find((m) => sameRemote(m.remote, given));
      if (!found && question) this.svc.ui.notify('info', vscode.l10n.t('{0} is not mounted.', given));
      return found;
    }
    // The followed mount first, so that Enter takes it; other tools' mounts last, under their own heading.
    const candidates = byFollowed(this.svc, registry.mounts.filter(fits));
    if (candidates.length <= 1 || !question) {
      if (!candidates.length)
        this.svc.ui.notify('info', vscode.l10n.t('Nothing is mounted.'), [
          { title: vscode.l10n.t('Mount…'), run: () => this.mount() },
        ]);
      return candidates[0];
    }
    const items: Array<vscode.QuickPickItem & { mount?: Mount }> = [];
    for (const m of candidates) {
      if (m.external && !items.some((i) => i.kind === vscode.QuickPickItemKind.Separator))
        items.push({ label: vscode.l10n.t('mounted by other tools'), kind: vscode.QuickPickItemKind.Separator });
      const description = m.state === 'mounted' ? m.remote : vscode.l10n.t('{0} ({1})', m.remote, stateText(m.state));
      items.push({ label: m.mountPoint, description, mount: m });
    }
    return (await this.svc.ui.pick(items, { title: question }))?.mount;
  }

  async autoMount(): Promise<void> {
    await this.svc.approveWorkspace(); // a workspace's own profiles and autoMount count only once approved
    if (!this.svc.settings.autoMount) return;
    await this.svc.registry.refresh();
    for (const p of this.svc.settings.profiles) if (!this.svc.registry.find(p.mountPoint)) await this.mount(p);
  }

  async unmountStarted(): Promise<void> {
    if (!this.svc.settings.unmountOnExit) return;
    await this.svc.registry.refresh();
    const ours = [...this.started].filter(([mp, pid]) => this.svc.registry.find(mp)?.pid === pid).map(([mp]) => mp);
    await Promise.all(
      ours.map((mp) =>
        this.svc.registry
          .unmount(mp, { waitMs: 0 })
          .catch((e: Error) => this.svc.log.warn(`Left ${mp} mounted: ${e.message}`)),
      ),
    );
  }
}

/** "1 file", "3 files". */
const files = (n: number) => (n === 1 ? vscode.l10n.t('1 file') : vscode.l10n.t('{0} files', n));

/** A mount's state as the pick shows it after its remote ("stale"). */
function stateText(state: Mount['state']): string {
  switch (state) {
    case 'stale':
      return vscode.l10n.t('stale');
    case 'mounting':
      return vscode.l10n.t('mounting');
    case 'not answering':
      return vscode.l10n.t('not answering');
    default:
      return state;
  }
}
