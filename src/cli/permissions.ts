// `rclone-devbox permissions <remote:bucket[/path]>`: what the remote's credentials may do there,
// found by doing it (core/permissions.ts, the editor's "Check Permissions"): list the folder, write
// a scratch object, read it back, delete it; the scratch object is removed again whatever happens.
// One line per operation and a verdict; --json for scripts. Exit status 0 when all four are
// allowed, 1 when one is not (or the scratch object was left behind); a check that could try
// nothing (no such remote or bucket, an endpoint that does not answer) is an error like any other.
import * as l10n from '@vscode/l10n';
import { FIXES, RcloneError, type ErrorKind } from '../core/errors';
import {
  type Check,
  checkPermissions,
  type Operation,
  OPERATIONS,
  type PermissionReport,
  type Verdict,
} from '../core/permissions';
import type { Rclone } from '../core/rclone';
import type { Options } from './args';
import { cliFix, cliMessage, englishOf } from './fixes';
import type { Io } from './mounts';

/**
 * What `permissions --json` prints. Field names are stable within a `version`; a value that does
 * not apply is null. Messages are in English whatever the user's language (for scripts).
 */
export interface PermissionsJson {
  version: 1;
  /** What was checked: "remote:bucket" or "remote:bucket/prefix". */
  target: string;
  /** `allowed`: all four are; `denied`: the endpoint refused at least one; `error`: none refused, but one failed or was not tried. */
  verdict: 'allowed' | 'denied' | 'error';
  /** Each operation, in the order list, read, write, delete. */
  operations: Record<Operation, PermissionsJsonCheck>;
  /** The scratch object the check wrote (or tried to). */
  scratch: string;
  /** The object `read` was tried on (the scratch object, or a file the listing found); null when none. */
  readFrom: string | null;
  /** The scratch object, when it was written and could not be removed again. */
  leftover: { location: string; message: string } | null;
}

export interface PermissionsJsonCheck {
  verdict: Verdict;
  /** The error kind when not allowed (e.g. "PermissionDenied", "AuthFailed"); null when none. */
  kind: string | null;
  /** What went wrong, or why it was not tried; null when allowed. */
  message: string | null;
}

export async function permissionsCommand(
  target: string,
  o: Options,
  locate: () => Promise<Rclone>,
  io: Io,
): Promise<number> {
  const rclone = await locate();
  let statusShown = false;
  const report = await checkPermissions(rclone, target, {
    signal: io.signal,
    onStep: io.status && ((op) => (io.status!(`${target}: ${stepText(op)}`), (statusShown = true))),
  });
  if (statusShown) process.stderr.write('\r\x1b[K');
  const checks = OPERATIONS.map((op) => report[op]);
  // Nothing could be tried (no such remote or bucket, the endpoint does not answer): said as any
  // other command says an error, with its fix.
  if (!checks.some((c) => c.verdict === 'allowed' || c.verdict === 'denied')) {
    const first = checks.find((c) => c.kind) ?? checks[0]!;
    throw new RcloneError((first.kind ?? 'Unknown') as ErrorKind, first.message ?? target);
  }
  const verdict = verdictOf(report);
  if (o.json) io.out(JSON.stringify(json(report, verdict), null, 2));
  else for (const line of text(report, verdict)) io.out(line);
  // What to do about each kind of refusal or failure, once.
  const kinds = new Set(checks.flatMap((c) => (c.verdict !== 'allowed' && c.kind ? [c.kind as ErrorKind] : [])));
  for (const kind of kinds) {
    // rclone's own words are in the line; the generic advice (run with -v) would show nothing more here.
    if (kind === 'Unknown') continue;
    const fix = cliFix({ kind, fix: FIXES[kind] }, io.context);
    if (fix) io.err(fix);
  }
  if (report.leftover)
    io.err(l10n.t('The scratch object {0} could not be removed: delete it yourself.', report.leftover.location));
  return verdict === 'allowed' && !report.leftover ? 0 : 1;
}

function verdictOf(report: PermissionReport): PermissionsJson['verdict'] {
  const checks = OPERATIONS.map((op) => report[op]);
  if (checks.every((c) => c.verdict === 'allowed')) return 'allowed';
  return checks.some((c) => c.verdict === 'denied') ? 'denied' : 'error';
}

function json(report: PermissionReport, verdict: PermissionsJson['verdict']): PermissionsJson {
  const english = (text: string | undefined) => (text ? englishOf(text) : null);
  const operations = Object.fromEntries(
    OPERATIONS.map((op) => {
      const c = report[op];
      return [op, { verdict: c.verdict, kind: c.kind ?? null, message: english(c.message) }];
    }),
  ) as Record<Operation, PermissionsJsonCheck>;
  return {
    version: 1,
    target: report.target,
    verdict,
    operations,
    scratch: report.scratch,
    readFrom: report.readFrom ?? null,
    leftover: report.leftover
      ? { location: report.leftover.location, message: englishOf(report.leftover.message) }
      : null,
  };
}

/** "list    allowed", one line per operation, then the verdict. */
function text(report: PermissionReport, verdict: PermissionsJson['verdict']): string[] {
  const names = OPERATIONS.map(opName);
  const width = Math.max(...names.map((n) => n.length)) + 2;
  const lines = OPERATIONS.map((op, i) => {
    const c = report[op];
    const from = op === 'read' && report.readFrom && report.readFrom !== report.scratch ? report.readFrom : undefined;
    return `${names[i]!.padEnd(width)}${checkText(c, from)}`;
  });
  const which = (v: Verdict) =>
    OPERATIONS.filter((op) => report[op].verdict === v)
      .map(opName)
      .join(', ');
  lines.push(
    verdict === 'allowed'
      ? l10n.t('All allowed: these credentials may list, read, write and delete under {0}.', report.target)
      : verdict === 'denied'
        ? l10n.t('Not all allowed under {0}: {1} denied.', report.target, which('denied'))
        : l10n.t('Not all checked under {0}: {1} failed.', report.target, which('error') || which('untested')),
  );
  return lines;
}

function checkText(c: Check, readFrom: string | undefined): string {
  const why = c.message ? cliMessage(c.message).replace(/[.。]$/, '') : '';
  switch (c.verdict) {
    case 'allowed':
      return readFrom ? l10n.t('allowed ({0})', readFrom) : l10n.t('allowed');
    case 'denied':
      return why ? l10n.t('denied: {0}', why) : l10n.t('denied');
    case 'error':
      return why ? l10n.t('failed: {0}', why) : l10n.t('failed');
    case 'untested':
      // With a kind: an earlier failure stopped the check; without: the message says why itself.
      if (c.kind) return l10n.t('not tried: {0}', why);
      return why ? `— ${why}` : l10n.t('not tried');
  }
}

function opName(op: Operation): string {
  switch (op) {
    case 'list':
      return l10n.t('list');
    case 'read':
      return l10n.t('read');
    case 'write':
      return l10n.t('write');
    case 'delete':
      return l10n.t('delete');
  }
}

function stepText(op: Operation): string {
  switch (op) {
    case 'list':
      return l10n.t('listing…');
    case 'read':
      return l10n.t('reading…');
    case 'write':
      return l10n.t('writing a scratch object…');
    case 'delete':
      return l10n.t('deleting the scratch object…');
  }
}
