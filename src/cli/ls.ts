// `rclone-devbox ls`: as close to one bare `rclone lsjson` as a listing can be. Whether the
// remote lists in pages (streamed as they arrive) is decided from its type in the config file
// instead of a `rclone backend features` run before every listing; and a folder is listed with a
// trailing "/", which spares rclone a request to check whether the path is a file.
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileKey, readCache, writeCache } from '../core/cache';
import { confValue, readConf } from '../core/confText';
import { isRcloneError, RcloneError } from '../core/errors';
import { type Entry, hasListR, listFolder, type Page } from '../core/listing';
import type { Rclone } from '../core/rclone';

/** Backend types that list a folder in pages (rclone's ListR). */
const PAGED = new Set(['s3', 'google cloud storage', 'gcs', 'b2', 'azureblob', 'swift']);
const ENCRYPTED = /^RCLONE_ENCRYPT_V\d+:/m;

/**
 * The config file rclone (1.60, fs/config makeConfigPath) reads when given no --config:
 * RCLONE_CONFIG, else the first that exists of rclone.conf beside the binary,
 * $XDG_CONFIG_HOME/rclone/rclone.conf (or ~/.config/rclone/rclone.conf) and ~/.rclone.conf.
 * Only a hint for speed here: a wrong guess costs one extra rclone run, never a wrong listing.
 */
export function configPath(rclone: Rclone): string | undefined {
  const env = rclone.env;
  if (rclone.configFile) return rclone.configFile;
  if (env.RCLONE_CONFIG) return env.RCLONE_CONFIG;
  const home = env.HOME ?? '';
  let beside: string | undefined;
  try {
    beside = join(dirname(realpathSync(rclone.path)), 'rclone.conf');
  } catch {
    beside = undefined;
  }
  const candidates = [
    beside,
    join(env.XDG_CONFIG_HOME || join(home, '.config'), 'rclone', 'rclone.conf'),
    home && join(home, '.rclone.conf'),
  ];
  return candidates.find((c): c is string => !!c && existsSync(c));
}

/** The backend type of remote `name`: its RCLONE_CONFIG_<NAME>_TYPE, else its config section's; null: not defined. */
function remoteType(rclone: Rclone, name: string, file: string | undefined): string | null | undefined {
  const fromEnv = rclone.env[`RCLONE_CONFIG_${name.toUpperCase()}_TYPE`];
  if (fromEnv) return fromEnv;
  if (!file) return null;
  try {
    const text = readFileSync(file, 'utf8');
    if (ENCRYPTED.test(text)) return undefined; // only rclone can read it
    return confValue(readConf(text), name, 'type') ?? null;
  } catch {
    return undefined; // unreadable or malformed: rclone will say what is wrong
  }
}

/**
 * Whether `target`'s backend lists in pages. Known paged types are answered from the config;
 * any other type is asked of rclone once and kept until the binary or the config file changes.
 */
export async function listsInPages(
  rclone: Rclone,
  target: string,
  cacheDir: string,
  signal?: AbortSignal,
): Promise<boolean> {
  const colon = target.indexOf(':');
  if (colon < 0) return false; // a local path
  if (target.startsWith(':')) return PAGED.has(/^:([^,:]+)/.exec(target)?.[1] ?? ''); // ":s3,provider=…:bucket"
  const name = target.slice(0, colon).split(',')[0]!; // "remote,opt=value:" overrides an option only
  const file = configPath(rclone);
  const type = remoteType(rclone, name, file);
  if (type === null) return false; // no such remote: the listing itself says so
  if (type !== undefined && PAGED.has(type)) return true;
  const key = [fileKey(rclone.path), file, file && fileKey(file), type].join('|');
  const cached = readCache<boolean>(cacheDir, `listr-${name}`, key);
  if (cached !== undefined) return cached;
  const answer = await hasListR(rclone, name, signal).catch(() => undefined);
  if (answer !== undefined) writeCache(cacheDir, `listr-${name}`, key, answer);
  return answer ?? false;
}

/** `remote:bucket/folder` → `remote:bucket/folder/`; undefined when a slash would change nothing. */
function asFolder(target: string): string | undefined {
  const colon = target.indexOf(':');
  if (colon <= 0) return undefined; // a local path, or a connection string (":s3,…:")
  const path = target.slice(colon + 1);
  // A bare bucket is never checked for being a file; a path already ending in "/" is a folder.
  return path.includes('/') && !path.endsWith('/') ? `${target}/` : undefined;
}

/**
 * Lists `target`, printing entries through onEntry as they arrive. Without a trailing slash,
 * rclone first asks whether `bucket/folder` is an object (a HEAD request: one round trip, a
 * quarter of a small listing over a 15 ms link); with it, it lists at once. A path that is an
 * object (or missing) lists as an empty folder that way, so an empty answer is asked again as given.
 */
export async function listTarget(
  rclone: Rclone,
  target: string,
  opts: { limit?: number; listR: boolean; signal: AbortSignal; onEntry: (e: Entry) => void },
): Promise<Page> {
  const folder = asFolder(target);
  if (folder) {
    try {
      const page = await listFolder(rclone, folder, opts);
      if (page.entries.length) return page;
    } catch (e) {
      if (!isRcloneError(e)) throw e;
      if (e.kind !== 'NotFound')
        throw new RcloneError(e.kind, e.message.replaceAll(folder, target), { fix: e.fix, detail: e.detail });
    }
  }
  return listFolder(rclone, target, opts);
}
