// Install or Update rclone: the official release for this box, checked against its SHA256SUMS,
// unpacked into the extension's own storage (no sudo), and used from then on ("rclone.path" in
// the user's settings records it). Offered by the welcome view and by the "missing" and "too old"
// errors. An rclone elsewhere (PATH, /usr/bin) is never replaced; updating ours is a rename, so a
// running mount keeps its binary. The download goes through Node's https, which VS Code routes
// through its `http.proxy`.
import { join } from 'node:path';
import * as vscode from 'vscode';
import { formatBytes } from '../core/files';
import { installRclone } from '../core/install';
import { abortOn } from './cancel';
import { command } from './commands';
import { showFailure } from './failures';
import type { Services } from './services';

export function register(svc: Services): vscode.Disposable {
  return command(svc, 'rclone.installRclone', () => install(svc));
}

/** Installs (or updates) rclone into our storage and points "rclone.path" at it; the path, or undefined. */
export async function install(svc: Services): Promise<string | undefined> {
  const { settings } = svc;
  const dir = join(svc.context.globalStorageUri.fsPath, 'bin');
  try {
    const done = await vscode.window.withProgress(
      {
        location: vscode.ProgressLocation.Notification,
        title: vscode.l10n.t('Installing rclone'),
        cancellable: true,
      },
      (progress, token) => {
        let shown = 0;
        return installRclone({
          base: settings.installBaseUrl,
          version: settings.installVersion,
          dir,
          signal: abortOn(token),
          onProgress: (bytes, total) => {
            const pct = total ? Math.floor((100 * bytes) / total) : 0;
            progress.report({
              message: total ? `${formatBytes(bytes)} / ${formatBytes(total)}` : formatBytes(bytes),
              increment: pct - shown,
            });
            shown = pct;
          },
        });
      },
    );
    // Recorded where the user's own settings are: a workspace cannot point rclone elsewhere by this.
    await vscode.workspace.getConfiguration('rclone').update('path', done.path, vscode.ConfigurationTarget.Global);
    svc.log.info(`Installed rclone ${done.version} at ${done.path} (${done.downloaded} bytes downloaded).`);
    svc.ui.notify(
      'info',
      vscode.l10n.t('Installed rclone {0} in {1}; "rclone.path" now points at it.', done.version, done.path),
      [{ title: vscode.l10n.t('Show Remotes'), run: () => vscode.commands.executeCommand('rclone.remotes.focus') }],
    );
    return done.path;
  } catch (e) {
    showFailure(svc, e, {}, [{ title: vscode.l10n.t('Try Again'), run: () => install(svc) }]);
    return undefined;
  }
}
