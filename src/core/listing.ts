// Listing remotes, buckets and folders as fast as rclone allows. `lsjson` is always called with
// --no-modtime and --no-mimetype: without both, the S3 backend makes one HEAD request per object
// (minutes instead of a fraction of a second for a few thousand objects over a real link).
import * as l10n from '@vscode/l10n';
import { explainConfigError } from './config';
import { isRcloneError, RcloneError, say } from './errors';
import type { Rclone, RunOptions } from './rclone';

export interface Entry {
  name: string;
  /** Path relative to the listed folder (equal to name for a one-level listing). */
  path: string;
  isDir: boolean;
  /** Bytes; -1 for folders and buckets. */
  size: number;
  isBucket?: boolean;
}

export interface Page {
  entries: Entry[];
  /** True when the listing was cut off at the limit: more entries exist. */
  more: boolean;
}

export interface ListOptions extends Pick<RunOptions, 'signal' | 'timeoutMs'> {
  /** Stop after this many entries and report `more` (default: no limit). */
  limit?: number;
  /** Only folders (e.g. buckets) or only files. */
  only?: 'dirs' | 'files';
  /**
   * The backend lists recursively in pages (rclone's ListR: S3, GCS, B2, Azure, Swift…): stream the
   * folder from those pages instead of waiting for the whole folder (see `hasListR`).
   */
  listR?: boolean;
  /** With `listR`: entries below the first level to read before falling back to a plain listing. */
  deepBudget?: number;
}

/** "remote:bucket/a b/c" from parts; parts are joined verbatim (no shell ever sees them). */
export function location(remote: string, ...parts: string[]): string {
  return `${remote}:${parts.filter(Boolean).join('/')}`;
}

interface LsjsonItem {
  Path: string;
  Name: string;
  Size: number;
  IsDir: boolean;
  IsBucket?: boolean;
}

/** One line of `rclone lsjson` output → an Entry, or undefined for the "[" / "]" framing. */
export function parseLsjsonLine(line: string): Entry | undefined {
  let text = line.trim();
  if (text === '[' || text === ']' || text === '') return undefined;
  if (text.startsWith('[')) text = text.slice(1);
  if (text.endsWith(']')) text = text.slice(0, -1);
  if (text.endsWith(',')) text = text.slice(0, -1);
  const item = JSON.parse(text) as LsjsonItem;
  const entry: Entry = { name: item.Name, path: item.Path, isDir: item.IsDir, size: item.IsDir ? -1 : item.Size };
  if (item.IsBucket) entry.isBucket = true;
  return entry;
}

function lsjsonArgs(target: string, opts: ListOptions): string[] {
  const args = ['lsjson', '--no-modtime', '--no-mimetype'];
  if (opts.only === 'dirs') args.push('--dirs-only');
  if (opts.only === 'files') args.push('--files-only');
  return [...args, '--', target];
}

async function* lsjson(rclone: Rclone, args: string[], target: string, opts: ListOptions): AsyncGenerator<Entry> {
  for await (const line of rclone.lines(args, { ...opts, target })) {
    const entry = parseLsjsonLine(line);
    if (entry) yield entry;
  }
}

/**
 * What tells entries of one folder apart: its name, and a "/" for a folder, since an object store
 * can hold an object `foo` next to the prefix `foo/`, and both are shown.
 */
const entryKey = (e: Entry): string => (e.isDir ? `${e.name}/` : e.name);

/**
 * Yields the entries of `target` ("remote:bucket/folder") as they arrive.
 *
 * A plain `lsjson` prints nothing until rclone has read the whole folder (it sorts it first): for
 * 100,000 objects that is 100 S3 pages before the first name. With `listR`, the folder is read
 * with `lsjson -R --fast-list`, which prints each page as it comes, and the first level is derived
 * from the keys (`a/b/c.bin` → folder `a`). A folder whose subfolders hold many objects would make
 * that scan long, so past `deepBudget` deeper keys it switches to the plain listing, skipping the
 * entries already yielded.
 */
export async function* streamFolder(rclone: Rclone, target: string, opts: ListOptions = {}): AsyncGenerator<Entry> {
  try {
    yield* stream(rclone, target, opts);
  } catch (e) {
    // Every listing (the tree's pages, Go to Path, the CLI) says "There is no bucket" the same way.
    if (isRcloneError(e, 'NotFound')) throw await explainNotFound(rclone, target, e, opts.signal);
    throw isRcloneError(e) ? await explainConfigError(rclone, e, target.slice(0, target.indexOf(':'))) : e;
  }
}

async function* stream(rclone: Rclone, target: string, opts: ListOptions): AsyncGenerator<Entry> {
  if (!opts.listR || opts.only === 'dirs') {
    yield* lsjson(rclone, lsjsonArgs(target, opts), target, opts);
    return;
  }
  const budget = opts.deepBudget ?? 5_000;
  const seen = new Set<string>();
  let deep = 0;
  for await (const e of lsjson(
    rclone,
    ['lsjson', '-R', '--fast-list', '--no-modtime', '--no-mimetype', '--', target],
    target,
    opts,
  )) {
    const slash = e.path.indexOf('/');
    const child: Entry =
      slash < 0
        ? { ...e, path: e.name }
        : { name: e.path.slice(0, slash), path: e.path.slice(0, slash), isDir: true, size: -1 };
    if (slash >= 0 && ++deep > budget) break;
    if (seen.has(entryKey(child)) || (opts.only === 'files' && child.isDir)) continue;
    seen.add(entryKey(child));
    yield child;
  }
  if (deep <= budget) return;
  for await (const e of lsjson(rclone, lsjsonArgs(target, opts), target, opts)) if (!seen.has(entryKey(e))) yield e;
}

/** Whether the remote's backend can list recursively in pages (rclone's ListR feature). */
export async function hasListR(rclone: Rclone, remote: string, signal?: AbortSignal): Promise<boolean> {
  const out = await rclone.run(['backend', 'features', '--', `${remote}:`], {
    timeoutMs: 15_000,
    signal,
    target: `${remote}:`,
  });
  return (JSON.parse(out) as { Features?: { ListR?: boolean } }).Features?.ListR === true;
}

/**
 * The first `limit` entries of a folder. Reaching the limit stops rclone at once (it is killed,
 * not left to finish) and reports `more`. `onEntry` sees each entry as it arrives.
 */
export async function listFolder(
  rclone: Rclone,
  target: string,
  opts: ListOptions & { onEntry?: (e: Entry) => void } = {},
): Promise<Page> {
  const limit = opts.limit ?? Infinity;
  const entries: Entry[] = [];
  for await (const entry of streamFolder(rclone, target, opts)) {
    if (entries.length === limit) return { entries, more: true };
    entries.push(entry);
    opts.onEntry?.(entry);
  }
  return { entries, more: false };
}

/** A path with nothing there (Go to Path finds out from an empty listing): rclone's own words for it. */
export const notFound = (target: string): RcloneError => new RcloneError('NotFound', say.notFound(target));

/**
 * Object stores have no folders, so rclone says "directory not found" only when the bucket itself
 * is missing. One listing of the remote's root tells a missing bucket from a missing folder.
 */
export async function explainNotFound(
  rclone: Rclone,
  target: string,
  error: RcloneError = notFound(target),
  signal?: AbortSignal,
): Promise<RcloneError> {
  const colon = target.indexOf(':');
  const bucket = target.slice(colon + 1).split('/')[0];
  if (colon < 0 || !bucket) return error;
  const root = await listFolder(rclone, target.slice(0, colon + 1), { only: 'dirs', timeoutMs: 15_000, signal }).catch(
    () => undefined,
  );
  if (!root?.entries.some((e) => e.isBucket) || root.entries.some((e) => e.name === bucket)) return error;
  return new RcloneError('BucketNotFound', say.noBucket(target), { detail: error.detail });
}

/** Buckets of a bucket-based remote (or the top folders of any other remote). */
export async function listBuckets(rclone: Rclone, remote: string, opts: ListOptions = {}): Promise<Entry[]> {
  return (await listFolder(rclone, location(remote), { ...opts, only: 'dirs' })).entries;
}

export interface PagerOptions {
  /** Bound on reading one page, in milliseconds (default 60 s). */
  timeoutMs?: number;
  /** A listing left waiting between pages this long is stopped (default 60 s). */
  idleMs?: number;
  /** Only the entries this keeps are counted and shown (e.g. a name filter). */
  keep?: (e: Entry) => boolean;
}

/** What `open` of a Pager must obey: stop on the signal, and set no time limit of its own. */
export type PagerSource = (opts: { signal: AbortSignal; timeoutMs: 0 }) => AsyncIterable<Entry>;

const TIMED_OUT = Symbol('page timed out');

/**
 * A folder read a page at a time from one running listing: each page continues where the last one
 * ended (rclone meanwhile waits on its full output pipe), so "Load more" reads nothing twice.
 * `stop()` ends the listing at once, killing its rclone; what was read stays, and a later page
 * starts a new listing that skips it. A listing left idle is stopped the same way, so an expanded
 * folder does not keep an rclone alive for ever.
 */
export class Pager {
  private readonly entries: Entry[] = [];
  private running: { entries: AsyncIterator<Entry>; stop: AbortController } | undefined;
  private done = false;
  private queue: Promise<unknown> = Promise.resolve();
  private idle: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly open: PagerSource,
    private readonly opts: PagerOptions = {},
  ) {}

  /** The first `count` entries, and whether there are more; reads only what no earlier page read. */
  page(count: number): Promise<Page> {
    // One reader at a time: a second page waits for the first, then reads on from there.
    const read = this.queue.catch(() => undefined).then(() => this.fill(count + 1));
    this.queue = read;
    return read.then(() => ({ entries: this.entries.slice(0, count), more: this.entries.length > count }));
  }

  /** Ends the running listing now (its rclone is killed); a page being read fails with Cancelled. */
  stop(): void {
    clearTimeout(this.idle);
    const running = this.running;
    this.running = undefined;
    running?.stop.abort();
    void running?.entries.return?.().catch(() => undefined); // runs the finally blocks down to rclone's
  }

  private async fill(want: number): Promise<void> {
    clearTimeout(this.idle);
    if (this.entries.length >= want || this.done) return;
    const running = (this.running ??= this.start());
    const timeoutMs = this.opts.timeoutMs ?? 60_000;
    const timer = setTimeout(() => running.stop.abort(TIMED_OUT), timeoutMs);
    try {
      while (this.entries.length < want) {
        const next = await running.entries.next();
        if (next.done) {
          this.done = true;
          this.running = undefined;
          return;
        }
        if (this.opts.keep?.(next.value) ?? true) this.entries.push(next.value);
      }
    } catch (e) {
      if (this.running === running) this.stop();
      if (running.stop.signal.reason !== TIMED_OUT) throw e;
      throw new RcloneError('Timeout', l10n.t`rclone did not list a page within ${Math.round(timeoutMs / 1000)} s.`);
    } finally {
      clearTimeout(timer);
    }
    this.idle = setTimeout(() => this.stop(), this.opts.idleMs ?? 60_000);
    this.idle.unref(); // the timer alone must not keep a process alive
  }

  private start(): { entries: AsyncIterator<Entry>; stop: AbortController } {
    const stop = new AbortController();
    const source = this.open({ signal: stop.signal, timeoutMs: 0 });
    const read = new Set(this.entries.map(entryKey));
    async function* unread(): AsyncGenerator<Entry> {
      for await (const e of source) if (!read.has(entryKey(e))) yield e;
    }
    return { entries: unread(), stop };
  }
}
