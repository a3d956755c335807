// Small answers worth keeping between runs (which rclone a binary is, whether a remote lists in
// pages), each in its own file under a cache folder and valid only for the key it was stored
// with (e.g. the binary's path, size and mtime). Synchronous: a read is one small file, cheaper
// than a promise round trip on the CLI's start-up path. Losing a write is harmless (the answer is
// asked for again), so errors are swallowed; a file is replaced by rename, so concurrent writers
// and readers never see half of one.
import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** $XDG_CACHE_HOME/rclone-devbox, or ~/.cache/rclone-devbox. */
export const defaultCacheDir = (env: NodeJS.ProcessEnv = process.env): string =>
  join(env.XDG_CACHE_HOME || join(env.HOME || '/tmp', '.cache'), 'rclone-devbox');

/** Identifies a file's content without reading it: replacing or rewriting the file changes it. */
export function fileKey(path: string): string | undefined {
  try {
    const s = statSync(path);
    return `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
  } catch {
    return undefined;
  }
}

const fileFor = (dir: string, name: string) => join(dir, `${name.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 200)}.json`);

export function readCache<T>(dir: string, name: string, key: string): T | undefined {
  try {
    const stored = JSON.parse(readFileSync(fileFor(dir, name), 'utf8')) as { key?: unknown; value?: T };
    return stored.key === key ? stored.value : undefined;
  } catch {
    return undefined;
  }
}

export function writeCache(dir: string, name: string, key: string, value: unknown): void {
  const file = fileFor(dir, name);
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(tmp, JSON.stringify({ key, value }), { mode: 0o600 });
    renameSync(tmp, file);
  } catch {
    try {
      rmSync(tmp, { force: true });
    } catch {
      // a folder we may not write in: nothing was left there either
    }
  }
}
