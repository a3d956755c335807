// Listing remotes, buckets and folders as fast as rclone allows. `lsjson` is always called with
// --no-modtime and --no-mimetype: without both, the S3 backend makes one HEAD request per object
// (minutes instead of a fraction of a second for a few thousand objects over a real link).
import type { RunOptions } from './rclone';
import type { Rclone } from './rclone';

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

/** Yields the entries of `target` ("remote:bucket/folder") as rclone prints them. */
export async function* streamFolder(rclone: Rclone, target: string, opts: ListOptions = {}): AsyncGenerator<Entry> {
  for await (const line of rclone.lines(lsjsonArgs(target, opts), { ...opts, target })) {
    const entry = parseLsjsonLine(line);
    if (entry) yield entry;
  }
}

/**
 * The first `limit` entries of a folder. Reaching the limit stops rclone at once (it is killed,
 * not left to finish) and reports `more`. `onEntry` sees each entry as it arrives.
 */
export async function listFolder(rclone: Rclone, target: string, opts: ListOptions & { onEntry?: (e: Entry) => void } = {}): Promise<Page> {
  const limit = opts.limit ?? Infinity;
  const entries: Entry[] = [];
  for await (const entry of streamFolder(rclone, target, opts)) {
    if (entries.length === limit) return { entries, more: true };
    entries.push(entry);
    opts.onEntry?.(entry);
  }
  return { entries, more: false };
}

/** Buckets of a bucket-based remote (or the top folders of any other remote). */
export async function listBuckets(rclone: Rclone, remote: string, opts: ListOptions = {}): Promise<Entry[]> {
  return (await listFolder(rclone, location(remote), { ...opts, only: 'dirs' })).entries;
}
