// When is a new mount ready, and if it fails, why? Ready = the kernel shows the FUSE mount and its
// root can be listed. Failure = rclone exits, or logs a decisive error, or (when not ready after a
// moment) a bounded listing of the same path by a separate rclone fails decisively: a mount
// retrying a dead endpoint says nothing at INFO level until its retries run out.
import { readdir } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import * as l10n from '@vscode/l10n';
import { classify, type ErrorKind, isRcloneError, RcloneError, redact } from './errors';
import { explainNotFound, listFolder } from './listing';
import type { LogTail } from './mountLog';
import { readRcloneMounts } from './mountinfo';
import type { Rclone } from './rclone';

/** Not ready after this long: ask a separate, bounded rclone why. */
const DIAGNOSE_AFTER_MS = 2_000;
/** Errors that mean the mount cannot work, as opposed to "slow" or "not allowed to list buckets". */
const DECISIVE = new Set<ErrorKind>([
  'Unreachable',
  'TlsError',
  'CaBundle',
  'CredentialsExpired',
  'AuthFailed',
  'BucketNotFound',
  'RemoteNotFound',
  'ConfigInvalid',
]);

export interface Starting {
  remote: string;
  mountPoint: string;
  /** This run's part of the mount's log (rclone's stderr goes there too). */
  log: LogTail;
  /** Resolves with rclone's exit code (undefined: killed by a signal). */
  exited: Promise<number | undefined>;
  /** The rc password and any secret flag values, scrubbed from anything shown. */
  secrets: readonly string[];
}

type WaitOptions = { signal?: AbortSignal; timeoutMs?: number; mountinfo?: string };

export async function waitUntilReady(rclone: Rclone, m: Starting, opts: WaitOptions): Promise<void> {
  // The diagnosis listing answers "why is it not ready yet?": once the wait is over, either way,
  // its answer is no longer needed, so its rclone is ended then instead of left to its timeout.
  const diagnose = new AbortController();
  try {
    return await wait(rclone, m, opts, diagnose.signal);
  } finally {
    diagnose.abort();
  }
}

async function wait(rclone: Rclone, m: Starting, opts: WaitOptions, diagnose: AbortSignal): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const started = Date.now();
  const deadline = started + timeoutMs;
  let exitCode: number | undefined | null = null;
  void m.exited.then((code) => (exitCode = code));
  let listing: Promise<string[] | Error> | undefined;
  let outcome: string[] | Error | undefined;
  let diagnosis: RcloneError | undefined;
  let diagnosing = false;
  let early: RcloneError | undefined;
  let classifiedAt = -1;
  for (;;) {
    if (opts.signal?.aborted) throw new RcloneError('Cancelled', l10n.t`Mounting ${m.remote} was cancelled.`);
    await m.log.read();
    if (exitCode !== null) {
      await delay(20); // its last words may still be on their way to the file
      await m.log.read();
      const why = redact(firstReason(m.log.text()) ?? '', m.secrets);
      throw await failure(rclone, m, exitedEarly(exitCode, why));
    }
    if (!listing && (await readRcloneMounts(opts.mountinfo)).some((e) => e.mountPoint === m.mountPoint)) {
      listing = readdir(m.mountPoint).then(
        (names) => names,
        (e: Error) => e,
      );
      void listing.then((o) => (outcome = o));
    }
    if (outcome instanceof Error) throw await rootFailure(rclone, m, outcome, opts.signal);
    if (outcome) return outcome.length ? undefined : checkBucketExists(rclone, m.remote, opts.signal);
    // Classified only when rclone wrote an error line since the last look: the look every few ms
    // stays cheap while rclone starts (on a 2-core box it competes with rclone for the CPU).
    if (classifiedAt !== m.log.position) {
      classifiedAt = m.log.position;
      const relevant = errorLines(m.log.text());
      early = relevant ? await failure(rclone, m, '', relevant) : undefined;
    }
    if (early && early.kind !== 'Unknown') throw early;
    if (diagnosis) throw diagnosis;
    if (!diagnosing && Date.now() - started > DIAGNOSE_AFTER_MS) {
      diagnosing = true;
      const bound = Math.max(1_000, deadline - Date.now());
      const signal = opts.signal ? AbortSignal.any([opts.signal, diagnose]) : diagnose;
      void listFolder(rclone, m.remote, { limit: 1, timeoutMs: bound, signal }).catch((e: unknown) => {
        if (isRcloneError(e) && DECISIVE.has(e.kind)) diagnosis = e;
      });
    }
    if (Date.now() > deadline) {
      const seconds = Math.round(timeoutMs / 1000);
      throw new RcloneError('Timeout', l10n.t`${m.remote} was not ready on ${m.mountPoint} within ${seconds} s.`, {
        detail: early?.detail,
      });
    }
    // A healthy mount is up within ~100 ms: look every 5 ms at first (a file read each), then ease off.
    await delay(Date.now() - started < DIAGNOSE_AFTER_MS ? 5 : 50);
  }
}

/**
 * The root could not be listed (EIO). rclone logs why, but that line may land after the kernel
 * has passed the error on: read the log again, and if it still says nothing decisive, ask a
 * separate, bounded rclone the same question.
 */
async function rootFailure(rclone: Rclone, m: Starting, error: Error, signal?: AbortSignal): Promise<RcloneError> {
  await delay(20);
  await m.log.read();
  const logged = await failure(rclone, m, '');
  if (logged.kind !== 'Unknown') return logged;
  const direct = await listFolder(rclone, m.remote, { limit: 1, timeoutMs: 5_000, signal }).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (isRcloneError(direct) && DECISIVE.has(direct.kind)) return direct;
  return failure(rclone, m, l10n.t`The mount's root cannot be listed: ${error.message}`);
}

/** Why a mount failed when its rclone exited before it was ready (`code` undefined: killed by a signal). */
function exitedEarly(code: number | undefined, why: string): string {
  if (code === undefined)
    return why
      ? l10n.t('rclone exited before the mount was ready: {0}', why)
      : l10n.t('rclone exited before the mount was ready.');
  return why
    ? l10n.t('rclone exited with code {0} before the mount was ready: {1}', code, why)
    : l10n.t('rclone exited with code {0} before the mount was ready.', code);
}

/** rclone's own first complaint: a flag it rejected (stderr) or an error it logged. */
function firstReason(text: string): string | undefined {
  return text
    .split('\n')
    .find((l) => /\b(error|fatal|failed)\b/i.test(l))
    ?.replace(/^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d /, '')
    .trim();
}

/** The lines of rclone's log that speak of an error, joined ("" when none does). */
const errorLines = (text: string): string =>
  text
    .split('\n')
    .filter((l) => /\b(error|fatal|failed)\b/i.test(l))
    .join('\n');

/** Classifies what rclone wrote since this mount started; `fallback` is the message of an unclassified failure. */
async function failure(
  rclone: Rclone,
  m: Starting,
  fallback: string,
  relevant = errorLines(m.log.text()),
): Promise<RcloneError> {
  const error = classify({ stderr: relevant, target: m.remote, mountPoint: m.mountPoint, secrets: m.secrets });
  if (error.kind === 'NotFound') return explainNotFound(rclone, m.remote, error);
  if (error.kind === 'Unknown' && fallback) {
    return new RcloneError('Unknown', fallback, {
      detail: error.detail,
      fix: l10n.t`See the mount's log: ${m.log.file}`,
    });
  }
  return error;
}

/**
 * rclone mounts a bucket that does not exist as an empty folder (and creates it on the first
 * write): a typo would look like an empty bucket. An empty root is checked against the bucket list.
 */
async function checkBucketExists(rclone: Rclone, remote: string, signal?: AbortSignal): Promise<void> {
  const missing = new RcloneError('NotFound', l10n.t`${remote} was not found.`);
  const why = await explainNotFound(rclone, remote, missing, signal);
  if (why.kind === 'BucketNotFound') throw why;
}
