// "Check permissions": what the current credentials may do under a bucket or folder, found by
// doing it. The four operations are tried with rclone itself (argument arrays, bounded calls):
// list the folder, write a small scratch object, read it back, delete it. Nothing that this
// check did not write is ever deleted or changed, and the scratch object is removed again
// whatever happens (a denial, a failure, a cancellation), or reported as left behind.
//
// Objects are read and deleted through `--files-from-raw -` (the name on stdin, looked up
// directly below the folder) rather than by their full path: given `remote:bucket/key`, rclone
// first asks whether `key` is an object, and takes any failure of that question (a 403 included)
// for "it is a folder", so `cat` of an unreadable object would print nothing and succeed, and
// `deletefile` would say "is a directory or doesn't exist" instead of "access denied".
import { randomBytes } from 'node:crypto';
import * as l10n from '@vscode/l10n';
import { isRcloneError, RcloneError } from './errors';
import { type Entry, listFolder } from './listing';
import type { Rclone, RunOptions } from './rclone';

export type Operation = 'list' | 'read' | 'write' | 'delete';
/** In the order results are shown (they are tried list, write, read, delete). */
export const OPERATIONS: readonly Operation[] = ['list', 'read', 'write', 'delete'];

/**
 * allowed: it worked. denied: the endpoint refused it (PermissionDenied, or the credentials were
 * refused: AuthFailed, CredentialsExpired). error: it failed for another reason (unreachable,
 * timeout, no such bucket…), which says nothing about the permission. untested: not tried (see
 * `message` for why).
 */
export type Verdict = 'allowed' | 'denied' | 'error' | 'untested';

export interface Check {
  verdict: Verdict;
  /** When not allowed: the classified error kind (an `ErrorKind`, e.g. "PermissionDenied"), if there was one. */
  kind?: string;
  /** When not allowed: what went wrong, or why it was not tried. */
  message?: string;
}

export interface PermissionReport {
  /** What was checked: "remote:bucket" or "remote:bucket/prefix". */
  target: string;
  list: Check;
  read: Check;
  write: Check;
  delete: Check;
  /** The scratch object this check wrote (or tried to): "remote:bucket/prefix/.rclone-devbox-permcheck-…". */
  scratch: string;
  /** The object `read` was tried on: the scratch object, or (write failed) a file the listing found. */
  readFrom?: string;
  /** The scratch object, when it was written and could not be removed again, with why. */
  leftover?: { location: string; message: string };
}

export interface PermissionOptions {
  signal?: AbortSignal;
  /** Bound on each rclone call, in milliseconds (default 30 s); each also has rclone's few retries. */
  timeoutMs?: number;
  /** Called as each operation starts (for progress). */
  onStep?: (op: Operation) => void;
}

/** The kinds that mean "refused": by a policy, or because the credentials themselves are not accepted. */
const DENIED: ReadonlySet<string> = new Set(['PermissionDenied', 'AuthFailed', 'CredentialsExpired']);
/** Refused credentials: no request with them can succeed, whatever it asks for. */
const REFUSED: ReadonlySet<string> = new Set(['AuthFailed', 'CredentialsExpired']);
/**
 * Failures after which no other operation can tell anything (or each would wait as long again):
 * the remote, the config or rclone is wrong, the bucket is missing, the endpoint is not there.
 */
const STOPS: ReadonlySet<string> = new Set([
  'RcloneMissing',
  'RcloneTooOld',
  'RemoteNotFound',
  'ConfigInvalid',
  'BucketNotFound',
  // A folder that is not there (a file system remote): writing into it would create it.
  'NotFound',
  'Unreachable',
  'Timeout',
  'TlsError',
  'CaBundle',
]);

/** Entries of the folder looked at for a file to read when nothing could be written. */
const LIST_LIMIT = 100;
/** Bytes read of an object this check did not write: enough to know it can be read. */
const READ_BYTES = 1024;

/** "remote:bucket/prefix" without trailing slashes (a remote's root "remote:" stays as it is). */
function normalize(target: string): string {
  const colon = target.indexOf(':');
  let end = target.length;
  while (end > colon + 1 && target[end - 1] === '/') end--;
  return target.slice(0, end);
}

const join = (target: string, name: string) => (target.endsWith(':') ? `${target}${name}` : `${target}/${name}`);

/** A name `--files-from-raw` can carry (one per line) and rclone will look up as it is. */
const lineSafe = (name: string) => !/[\r\n]/.test(name) && name.trim() === name && !name.startsWith('/');

/**
 * Tries list, write, read and delete under `target` with the credentials rclone has for it, and
 * says which are allowed. Throws only a Cancelled RcloneError (after removing the scratch object)
 * or what finding rclone throws; every other failure is a check's result.
 */
export async function checkPermissions(
  rclone: Rclone,
  target: string,
  opts: PermissionOptions = {},
): Promise<PermissionReport> {
  target = normalize(target);
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const name = `.rclone-devbox-permcheck-${randomBytes(6).toString('hex')}`;
  const scratch = join(target, name);
  const body = `rclone-devbox permission check ${randomBytes(8).toString('hex')}\n`;
  const call = (extra: Partial<RunOptions> = {}): RunOptions => ({ signal: opts.signal, timeoutMs, target, ...extra });

  const untested = (message: string, kind?: string): Check => ({ verdict: 'untested', kind, message });
  const report: PermissionReport = {
    target,
    scratch,
    list: untested(''),
    read: untested(''),
    write: untested(''),
    delete: untested(''),
  };
  /** The first failure after which nothing more is tried, and how the rest is reported. */
  let stopped: ((op: Operation) => Check) | undefined;
  /** Whether the scratch object may exist now (a write started and was not refused). */
  let mayExist = false;
  let removed = false;

  /** Runs one operation: its verdict, or (a cancellation) the error thrown on. */
  const attempt = async (op: Operation, work: () => Promise<Check | void>): Promise<Check> => {
    if (opts.signal?.aborted) throw new RcloneError('Cancelled', l10n.t`Cancelled: ${target}.`);
    if (stopped) return (report[op] = stopped(op));
    opts.onStep?.(op);
    try {
      return (report[op] = (await work()) ?? { verdict: 'allowed' });
    } catch (e) {
      if (isRcloneError(e, 'Cancelled') || !isRcloneError(e)) throw e;
      const check: Check = { verdict: DENIED.has(e.kind) ? 'denied' : 'error', kind: e.kind, message: e.message };
      if (REFUSED.has(e.kind))
        stopped = () => ({ ...check }); // what the endpoint said of these credentials holds for all
      else if (STOPS.has(e.kind)) stopped = () => untested(e.message, e.kind);
      return (report[op] = check);
    }
  };

  try {
    let listed: Entry[] = [];
    await attempt('list', async () => {
      listed = (await listFolder(rclone, target, { limit: LIST_LIMIT, signal: opts.signal, timeoutMs })).entries;
    });

    await attempt('write', async () => {
      mayExist = true;
      // Never create a bucket: on S3 an upload into a missing bucket would otherwise make it.
      await rclone.run(['rcat', '--s3-no-check-bucket', '--', scratch], call({ input: body, target: scratch }));
    });
    if (report.write.verdict === 'denied') mayExist = false;

    const wrote = report.write.verdict === 'allowed';
    const file = wrote ? undefined : listed.find((e) => !e.isDir && lineSafe(e.name));
    if (!wrote && !file && !stopped)
      report.read = untested(
        report.list.verdict === 'allowed'
          ? l10n.t('Nothing to read: nothing was written, and the listing found no file.')
          : l10n.t('Nothing to read: nothing was written or listed.'),
      );
    else
      await attempt('read', async () => {
        report.readFrom = file ? join(target, file.name) : scratch;
        const out = await rclone.run(
          ['cat', ...(file ? ['--count', String(READ_BYTES)] : []), '--files-from-raw', '-', '--', target],
          call({ input: `${file?.name ?? name}\n`, target: report.readFrom }),
        );
        if (file)
          return out === '' && file.size > 0
            ? untested(l10n.t`${report.readFrom} was gone when it was read.`)
            : undefined;
        if (out !== body)
          return {
            verdict: 'error',
            kind: 'Unknown',
            message: l10n.t`${scratch} read back differently from what was written.`,
          };
        return undefined;
      });

    if (!wrote && !stopped)
      report.delete = untested(l10n.t('Not tried: only an object this check wrote is deleted, and none was written.'));
    else
      await attempt('delete', async () => {
        await remove(rclone, target, name, call({ target: scratch }));
        removed = true;
      });
  } finally {
    // Removed whatever happened above: a cancellation included (with a signal of its own, then).
    if (mayExist && !removed && report.delete.verdict !== 'denied') {
      try {
        await remove(rclone, target, name, { timeoutMs, target: scratch });
        removed = true;
      } catch (e) {
        const message = e instanceof Error ? e.message : String(e);
        report.leftover = { location: scratch, message };
        rclone.log.warn(`The permission check could not remove ${scratch}: ${message}`);
      }
    } else if (mayExist && !removed) {
      report.leftover = { location: scratch, message: report.delete.message ?? '' };
    }
  }
  return report;
}

/** Deletes `name` directly below `target`, and nothing else (a name missing there is no error). */
async function remove(rclone: Rclone, target: string, name: string, opts: RunOptions): Promise<void> {
  await rclone.run(['delete', '--files-from-raw', '-', '--', target], { ...opts, input: `${name}\n` });
}
