// Turns a classified error into a notification: what happened, what to do, and buttons that do it.
import * as vscode from 'vscode';
import { type ErrorKind, isRcloneError } from '../core/errors';
import { showLogFile } from './log';
import type { Services } from './services';
import type { Action } from './ui';

export interface Where {
  /** The remote's name, for "Edit Remote". */
  remote?: string;
  /** The mount's rclone log, for "Show Log". */
  logFile?: string;
  mountPoint?: string;
}

/**
 * Kinds whose fix is in the remote's settings: "Edit Remote" is the action. Not a missing bucket:
 * that is a mistyped name or a deleted bucket, which no edit of the remote fixes.
 */
export const REMOTE_KINDS = new Set<ErrorKind>([
  'CredentialsExpired',
  'AuthFailed',
  'Unreachable',
  'TlsError',
  'ConfigInvalid',
  'PermissionDenied',
]);

function actionsFor(kind: ErrorKind, where: Where): Action[] {
  const run =
    (command: string, ...args: unknown[]) =>
    () =>
      vscode.commands.executeCommand(command, ...args);
  if (kind === 'RcloneMissing' || kind === 'RcloneTooOld') {
    return [
      { title: vscode.l10n.t('Install rclone'), run: run('rclone.installRclone') },
      { title: vscode.l10n.t('Set rclone Path'), run: run('workbench.action.openSettings', 'rclone.path') },
    ];
  }
  if (kind === 'RemoteNotFound') return [{ title: vscode.l10n.t('Add Remote'), run: run('rclone.addRemote') }];
  if (REMOTE_KINDS.has(kind) && where.remote)
    return [{ title: vscode.l10n.t('Edit Remote'), run: run('rclone.editRemote', where.remote) }];
  if (kind === 'AllowOtherNotPermitted')
    return [
      { title: vscode.l10n.t('Open /etc/fuse.conf'), run: run('vscode.open', vscode.Uri.file('/etc/fuse.conf')) },
    ];
  if (kind === 'FuseMissing')
    return [
      {
        title: vscode.l10n.t('Copy Install Command'),
        run: () => vscode.env.clipboard.writeText('sudo apt-get install -y fuse3'),
      },
    ];
  if (kind === 'Stale' && where.mountPoint)
    return [{ title: vscode.l10n.t('Repair'), run: run('rclone.remount', where.mountPoint) }];
  return [];
}

/** Shows `e` to the user (never a stack trace) and logs it; a cancellation shows nothing. */
export function showFailure(svc: Services, e: unknown, where: Where = {}, extra: readonly Action[] = []): void {
  if (isRcloneError(e, 'Cancelled')) {
    svc.log.info(e.message);
    return;
  }
  const showLog: Action = where.logFile
    ? { title: vscode.l10n.t('Show Log'), run: () => showLogFile(where.logFile!) }
    : { title: vscode.l10n.t('Show Log'), run: () => svc.log.show() };
  if (!isRcloneError(e)) {
    const error = e instanceof Error ? e : new Error(String(e));
    svc.log.error(`${error.message}\n${error.stack ?? ''}`);
    svc.ui.notify('error', vscode.l10n.t('Rclone Dev Box: {0}', error.message), [showLog]);
    return;
  }
  svc.log.error(`${e.kind}: ${e.message}${e.detail ? `\n${e.detail}` : ''}`);
  const message = e.fix ? `${e.message} ${e.fix}` : e.message;
  svc.ui.notify('error', message, [...extra, ...actionsFor(e.kind, where), showLog]);
}
