// "Check Permissions" (on a bucket or folder row, or from the palette): tries list, read, write and
// delete under it with the remote's current credentials (see core/permissions.ts) under a
// cancellable notification, then says in one line which are allowed, so a least-privilege key can
// be seen to be what was meant (read-only for models, write for outputs). The details go to the log.
import * as vscode from 'vscode';
import { isRcloneError } from '../core/errors';
import { type Check, checkPermissions, type Operation, OPERATIONS, type PermissionReport } from '../core/permissions';
import { abortOn } from './cancel';
import { command } from './commands';
import { PathNode } from './nodes';
import type { Services } from './services';
import type { Action } from './ui';

/** A bucket or folder row, a location ("remote:bucket/prefix"), or nothing (then asked for). */
type Target = PathNode | string | undefined;

export function register(svc: Services): vscode.Disposable {
  return command(svc, 'rclone.checkPermissions', (t?: Target) => check(svc, t));
}

async function check(svc: Services, t: Target): Promise<PermissionReport | undefined> {
  const target = await targetOf(svc, t);
  if (!target) return undefined;
  const remote = target.slice(0, target.indexOf(':'));
  const rclone = await svc.rclone();
  let report: PermissionReport;
  try {
    report = await vscode.window.withProgress(
      {
        location: vscode.ProgressLocation.Notification,
        title: vscode.l10n.t('Checking permissions on {0}', target),
        cancellable: true,
      },
      (progress, token) =>
        checkPermissions(rclone, target, {
          signal: abortOn(token),
          onStep: (op) => progress.report({ message: stepText(op), increment: 25 }),
        }),
    );
  } catch (e) {
    if (!isRcloneError(e, 'Cancelled')) throw e; // shown by command()
    svc.log.info(`Permission check on ${target} cancelled.`);
    return undefined;
  }
  logReport(svc, report);
  const refused = OPERATIONS.some((op) => ['AuthFailed', 'CredentialsExpired'].includes(report[op].kind ?? ''));
  const actions: Action[] = [
    ...(refused
      ? [
          {
            title: vscode.l10n.t('Edit Remote'),
            run: () => vscode.commands.executeCommand('rclone.editRemote', remote),
          },
        ]
      : []),
    { title: vscode.l10n.t('Show Log'), run: () => svc.log.show() },
  ];
  const failed = OPERATIONS.some((op) => report[op].verdict === 'error');
  svc.ui.notify(failed || report.leftover ? 'warning' : 'info', summary(report), actions);
  return report;
}

/** The row's location, the given one, or one asked for (a bucket at least). */
async function targetOf(svc: Services, t: Target): Promise<string | undefined> {
  if (t instanceof PathNode) return t.kind === 'file' ? t.parent.location : t.location;
  if (typeof t === 'string') return t;
  return svc.ui.input({
    title: vscode.l10n.t('Check Permissions'),
    prompt: 'remote:bucket/path',
    placeHolder: 'compshare:index-tts-data/cache_hub',
    validateInput: (v) => (/^[^:/]+:[^/]/.test(v) ? undefined : vscode.l10n.t('Write it as remote:bucket/path')),
  });
}

function opName(op: Operation): string {
  switch (op) {
    case 'list':
      return vscode.l10n.t('list');
    case 'read':
      return vscode.l10n.t('read');
    case 'write':
      return vscode.l10n.t('write');
    case 'delete':
      return vscode.l10n.t('delete');
  }
}

function stepText(op: Operation): string {
  switch (op) {
    case 'list':
      return vscode.l10n.t('listing…');
    case 'read':
      return vscode.l10n.t('reading…');
    case 'write':
      return vscode.l10n.t('writing a scratch object…');
    case 'delete':
      return vscode.l10n.t('deleting the scratch object…');
  }
}

/** Why a check was not allowed, in a few words. */
function reason(check: Check): string {
  switch (check.kind) {
    case 'PermissionDenied':
      return vscode.l10n.t('access denied');
    case 'AuthFailed':
      return vscode.l10n.t('credentials refused');
    case 'CredentialsExpired':
      return vscode.l10n.t('credentials expired');
    case 'BucketNotFound':
      return vscode.l10n.t('no such bucket');
    case 'NotFound':
      return vscode.l10n.t('not found');
    case 'Unreachable':
      return vscode.l10n.t('endpoint unreachable');
    case 'Timeout':
      return vscode.l10n.t('timed out');
    default:
      return vscode.l10n.t('failed');
  }
}

function part(op: Operation, check: Check): string {
  const name = opName(op);
  switch (check.verdict) {
    case 'allowed':
      return vscode.l10n.t('{0} ✓', name);
    case 'denied':
      return vscode.l10n.t('{0} ✗ ({1})', name, reason(check));
    case 'error':
      return vscode.l10n.t('{0} ⚠ ({1})', name, reason(check));
    case 'untested':
      return vscode.l10n.t('{0} —', name);
  }
}

/** "s3:index-tts-data: list ✓ · read ✓ · write ✗ (access denied) · delete —", and a left object if any. */
function summary(report: PermissionReport): string {
  const line = `${report.target}: ${OPERATIONS.map((op) => part(op, report[op])).join(' · ')}`;
  return report.leftover
    ? `${line}. ${vscode.l10n.t('The scratch object {0} could not be removed: delete it yourself.', report.leftover.location)}`
    : line;
}

/** The whole report, one line per operation (no secret is in it: core's messages are scrubbed). */
function logReport(svc: Services, report: PermissionReport): void {
  const lines = [`Permission check on ${report.target} (scratch object ${report.scratch}):`];
  for (const op of OPERATIONS) {
    const c = report[op];
    const why = [c.kind, c.message].filter(Boolean).join(': ');
    const on = op === 'read' && report.readFrom ? ` (${report.readFrom})` : '';
    lines.push(`  ${op}: ${c.verdict}${on}${why ? ` — ${why}` : ''}`);
  }
  if (report.leftover) lines.push(`  left behind: ${report.leftover.location} — ${report.leftover.message}`);
  const log = report.leftover || OPERATIONS.some((op) => report[op].verdict === 'error') ? 'warn' : 'info';
  svc.log[log](lines.join('\n'));
}
