// Mounts of a remote whose pasted session token expires (the time the user gave in Add or Edit
// Remote) are stopped 2 minutes before it, uploads done first, with a "Renew and Remount" button:
// such credentials cannot be renewed under a running mount. Credentials from a command never
// come here (rclone renews them itself).
import * as vscode from 'vscode';
import { RcloneError } from '../core/errors';
import { MAX_TIMER_MS, STOP_BEFORE_MS, stopBeforeExpiry } from '../core/expiry';
import type { Mount } from '../core/mounts';
import type { MountProfile } from '../core/profile';
import { abortOn } from './cancel';
import { showFailure } from './failures';
import { askKeys, saveRemote } from './remoteCommands';
import type { Services } from './services';

interface Due {
  mount: Mount;
  remote: string;
  expires: Date;
}

export function register(svc: Services): vscode.Disposable {
  const watch = new ExpiryWatch(svc);
  return vscode.Disposable.from(
    svc.registry.onDidChange(() => watch.plan()),
    svc.onDidChangeRemotes(() => watch.plan()),
    watch,
  );
}

class ExpiryWatch implements vscode.Disposable {
  private timer: NodeJS.Timeout | undefined;
  private planning: Promise<void> = Promise.resolve();
  /** Mounts being stopped now, and stops the user cancelled (`mountPoint expiry`): not tried again. */
  private readonly stopping = new Set<string>();
  private readonly declined = new Set<string>();

  constructor(private readonly svc: Services) {}

  /** Sets the timer for the first mount of ours whose credentials expire (one plan at a time). */
  plan(): void {
    this.planning = this.planning
      .then(() => this.schedule())
      .catch((e: Error) => this.svc.log.warn(`Could not plan credential expiries: ${e.message}`));
  }

  private async schedule(): Promise<void> {
    clearTimeout(this.timer);
    const due = await this.first();
    if (!due) return;
    const wait = due.expires.getTime() - STOP_BEFORE_MS - Date.now();
    this.timer = setTimeout(
      () => (wait > MAX_TIMER_MS ? this.plan() : void this.stop(due)), // a later expiry: planned again
      Math.min(Math.max(wait, 0), MAX_TIMER_MS),
    );
  }

  /** The mount of ours whose remote's session token expires first; nothing read when no remote has an expiry. */
  private async first(): Promise<Due | undefined> {
    const { svc } = this;
    const ours = svc.registry.mounts.filter(
      (m) => !m.external && m.state === 'mounted' && !this.stopping.has(m.mountPoint),
    );
    if (!ours.length || (await svc.expiry.empty())) return undefined;
    const config = await svc.config();
    let first: Due | undefined;
    for (const mount of ours) {
      const remote = mount.remote.slice(0, mount.remote.indexOf(':'));
      const expires = await svc.expiry.get(config.path, remote);
      if (!expires || this.declined.has(`${mount.mountPoint}\0${expires.toISOString()}`)) continue;
      if (!first || expires < first.expires) first = { mount, remote, expires };
    }
    return first;
  }

  private async stop({ mount, remote, expires }: Due): Promise<void> {
    const { svc } = this;
    // Renewed meanwhile (in this window or another): plan for the new time instead.
    const now = await svc.expiry.get((await svc.config()).path, remote);
    if (now?.getTime() !== expires.getTime()) return this.plan();
    const at = expires.toLocaleTimeString(vscode.env.language);
    this.stopping.add(mount.mountPoint);
    try {
      const { left } = await vscode.window.withProgress(
        {
          location: vscode.ProgressLocation.Notification,
          title: vscode.l10n.t(
            'The session token of {0} expires at {1}: unmounting {2} first',
            remote,
            at,
            mount.mountPoint,
          ),
          cancellable: true,
        },
        (progress, token) =>
          svc.whileBusy(mount.mountPoint, mount.remote, 'unmounting', () =>
            stopBeforeExpiry(svc.registry, mount.mountPoint, expires, {
              signal: abortOn(token),
              onProgress: (n) =>
                progress.report({
                  message: n ? vscode.l10n.t('waiting for {0} to upload', files(n)) : vscode.l10n.t('uploads done'),
                }),
            }),
          ),
      );
      const message = left
        ? vscode.l10n.t(
            '{0} was unmounted: the session token of {1} expires at {2}. {3} could not be uploaded in time; they wait in its VFS cache and go up with the next mount.',
            mount.mountPoint,
            remote,
            at,
            files(left),
          )
        : vscode.l10n.t(
            '{0} was unmounted, every upload done: the session token of {1} expires at {2}, and a running mount cannot take new pasted credentials.',
            mount.mountPoint,
            remote,
            at,
          );
      svc.ui.notify('warning', message, [
        { title: vscode.l10n.t('Renew and Remount'), run: () => renew(svc, remote, mount.profile) },
      ]);
    } catch (e) {
      this.declined.add(`${mount.mountPoint}\0${expires.toISOString()}`); // cancelled or failed: not again for this token
      showFailure(svc, e, { remote, mountPoint: mount.mountPoint, logFile: mount.logFile });
    } finally {
      this.stopping.delete(mount.mountPoint);
      this.plan();
    }
  }

  dispose(): void {
    clearTimeout(this.timer);
  }
}

/** Asks for new temporary keys for `name` (and when they expire), saves them, and mounts `profile` again. */
async function renew(svc: Services, name: string, profile: MountProfile | undefined): Promise<void> {
  try {
    const config = await svc.config();
    const remote = (await config.remotes()).find((r) => r.name === name);
    if (!remote)
      throw new RcloneError('RemoteNotFound', vscode.l10n.t('There is no remote "{0}" in {1}.', name, config.path));
    const title = vscode.l10n.t('Renew {0}', name);
    const secrets = await askKeys(svc, 'session', false, (n) => `${title} (${n}/4)`);
    if (!secrets) return;
    await saveRemote(svc, name, secrets, 'Updated', remote);
    if (profile) await vscode.commands.executeCommand('rclone.mount', profile);
  } catch (e) {
    showFailure(svc, e, { remote: name });
  }
}

/** "1 file", "3 files". */
const files = (n: number) => (n === 1 ? vscode.l10n.t('1 file') : vscode.l10n.t('{0} files', n));
