// Listing remotes, buckets and folders as fast as rclone allows. `lsjson` is always called with
// --no-modtime and --no-mimetype: without both, the S3 backend makes one HEAD request per object
// (minutes instead of a fraction of a second for a few thousand objects over a real link).
import { isRcloneError, RcloneError } from './errors';
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
    if (seen.has(child.name) || (opts.only === 'files' && child.isDir)) continue;
    seen.add(child.name);
    yield child;
  }
  if (deep <= budget) return;
  for await (const e of lsjson(rclone, lsjsonArgs(target, opts), target, opts)) if (!seen.has(e.name)) yield e;
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
  try {
    for await (const entry of streamFolder(rclone, target, opts)) {
      if (entries.length === limit) return { entries, more: true };
      entries.push(entry);
      opts.onEntry?.(entry);
    }
  } catch (e) {
    throw isRcloneError(e, 'NotFound') ? await explainNotFound(rclone, target, e, opts.signal) : e;
  }
  return { entries, more: false };
}

/**
 * Object stores have no folders, so rclone says "directory not found" only when the bucket itself
 * is missing. One listing of the remote's root tells a missing bucket from a missing folder.
 */
export async function explainNotFound(
  rclone: Rclone,
  target: string,
  error: RcloneError,
  signal?: AbortSignal,
): Promise<RcloneError> {
  const colon = target.indexOf(':');
  const bucket = target.slice(colon + 1).split('/')[0];
  if (colon < 0 || !bucket) return error;
  const root = await listFolder(rclone, target.slice(0, colon + 1), { only: 'dirs', timeoutMs: 15_000, signal }).catch(
    () => undefined,
  );
  if (!root?.entries.some((e) => e.isBucket) || root.entries.some((e) => e.name === bucket)) return error;
  return new RcloneError('BucketNotFound', `There is no bucket "${bucket}" on ${target.slice(0, colon)}.`, {
    detail: error.detail,
  });
}

/** Buckets of a bucket-based remote (or the top folders of any other remote). */
export async function listBuckets(rclone: Rclone, remote: string, opts: ListOptions = {}): Promise<Entry[]> {
  return (await listFolder(rclone, location(remote), { ...opts, only: 'dirs' })).entries;
}
