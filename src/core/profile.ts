// A mount profile: everything that decides how one bucket is mounted, and the rclone argv and
// environment it becomes. Pure functions, except sensitiveFlags(), which asks rclone once.
import * as l10n from '@vscode/l10n';
import { RcloneError } from './errors';
import type { Env, Rclone } from './rclone';

const CACHE_MODES = ['off', 'minimal', 'writes', 'full'] as const;
export type CacheMode = (typeof CACHE_MODES)[number];
const LOG_LEVELS = ['DEBUG', 'INFO', 'NOTICE', 'ERROR'] as const;
export const STORAGE_MODES = ['mount', 'copy', 'auto'] as const;
/** How a bucket reaches the box: mounted (FUSE), copied to a local folder, or mounted where FUSE works and copied where not. */
export type StorageMode = (typeof STORAGE_MODES)[number];

export interface MountProfile {
  /** What to mount: "remote:bucket/path". */
  remote: string;
  /** Absolute path; created if missing. */
  mountPoint: string;
  /** VFS cache mode; `writes` (default) buffers uploads on disk, `full` also keeps what is read. */
  cacheMode?: CacheMode;
  /** Where the VFS cache lives (default: rclone's, ~/.cache/rclone). */
  cacheDir?: string;
  /** Upper bound of the VFS cache, e.g. "20G" (default: rclone's, unlimited). */
  cacheMaxSize?: string;
  /** Let other users (e.g. a container's) see the files; needs user_allow_other for non-root. */
  allowOther?: boolean;
  /** Mount even though the mount point has files in it (they are hidden while mounted). */
  allowNonEmpty?: boolean;
  /** Owner shown for files (default: the current user). */
  uid?: number;
  gid?: number;
  /** rclone flags tuned for big model files (default: the seed script's). */
  tuning?: readonly string[];
  logLevel?: (typeof LOG_LEVELS)[number];
  /**
   * How long rclone keeps a folder's listing (--dir-cache-time). A prewarm is undone when it
   * expires; rclone's own default is 5m, ours 1000h (a model folder rarely changes; a prewarm or
   * a Refresh reads it anew). Backends with change notification still see changes every
   * --poll-interval (1m); S3 has none.
   */
  dirCacheTime?: string;
  /** Folders (below the mount point) warmed after every mount, e.g. ["cache_hub"]. */
  warm?: readonly string[];
  /**
   * `mount` (default), `copy`: the bring-up copies the versions it links to a local folder instead
   * (no FUSE needed), `auto`: mounts where FUSE works, copies where it does not.
   */
  mode?: StorageMode;
  /** Where copy mode keeps its local copies (default: `<workspace>/.rclone-devbox/<remote>/<bucket path>`). */
  copyDir?: string;
  /**
   * More rclone flags, one argument per element (no shell). Secret ones (--b2-key…) are passed as
   * RCLONE_<FLAG> in the environment instead, which rclone reads like the flag (over the config file).
   */
  extraFlags?: readonly string[];
}

/** The seed script's tuning: long timeout for multi-GB files, a few parallel transfers, bounded retries. */
const DEFAULT_TUNING: readonly string[] = ['--timeout', '1h', '--transfers', '4', '--checkers', '8', '--retries', '3'];

/** The default --dir-cache-time: long enough that a warmed model folder stays warm for weeks. */
export const DEFAULT_DIR_CACHE_TIME = '1000h';

/** What a profile warms after each mount unless it says: IndexTTS2's model folder. */
export const DEFAULT_WARM: readonly string[] = ['cache_hub'];

/** A duration as rclone 1.60 reads --dir-cache-time (Go's units: no d), e.g. 1000h, 30m, 1h30m; not negative. */
const DURATION = /^(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+$/;
const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1e3, m: 6e4, h: 3.6e6 };

/** Milliseconds of an rclone duration (see DURATION); undefined when it is not one. */
export function durationMs(text: string): number | undefined {
  if (!DURATION.test(text)) return undefined;
  let ms = 0;
  for (const [, n, unit] of text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) ms += Number(n) * UNIT_MS[unit!]!;
  return ms;
}

/**
 * Flags that would undo what the extension relies on (its own rc, log and foreground process).
 * -v/-q clash with our --log-level (rclone refuses to start), and -vv would first log every option
 * rclone reads from the environment, value included: the rc password and the secret flags.
 */
const RESERVED =
  /^(?:--(daemon|rc|rc-[a-z-]+|log-file|log-level|verbose|quiet|config|uid|gid|allow-other|allow-non-empty|vfs-cache-mode|cache-dir|vfs-cache-max-size|dir-cache-time)(=|$)|-[vq]+$)/;

/**
 * A size as rclone's --vfs-cache-max-size reads it (checked against rclone 1.60: 20G, 1.5G, 500Mi,
 * 1GiB, 10b; not 1GB, 1KIB, -1), but with a unit: rclone reads a bare number as KiB, so "20" would
 * silently make a 20 KiB cache.
 */
const SIZE = /^(?:\d+(?:\.\d*)?|\.\d+)(?:[kmgtpeKMGTPE](?:[iI]|i[bB])?|[bB])$/;

/** Refuses a profile rclone would refuse (or misread), before anything is started, naming the field. */
export function checkProfile(p: MountProfile): void {
  const bad = (message: string, fix: string) => new RcloneError('ConfigInvalid', message, { fix });
  if (!/^[^:/]*:/.test(p.remote) && !p.remote.startsWith('/')) {
    throw bad(l10n.t`"${p.remote}" is not an rclone path.`, l10n.t('Use the form remote:bucket/path.'));
  }
  if (!p.mountPoint.startsWith('/'))
    throw bad(
      l10n.t`The mount point "${p.mountPoint}" is not an absolute path.`,
      l10n.t('Use an absolute path such as /mnt/index-tts-storage.'),
    );
  if (p.cacheMode !== undefined && !(CACHE_MODES as readonly string[]).includes(p.cacheMode))
    throw bad(
      l10n.t`The mount profile's cacheMode "${String(p.cacheMode)}" is not one of ${CACHE_MODES.join(', ')}.`,
      l10n.t('Use one of them, e.g. "writes" (uploads are buffered on disk; the default).'),
    );
  const size = p.cacheMaxSize === undefined ? undefined : String(p.cacheMaxSize);
  if (size !== undefined && size.toLowerCase() !== 'off' && !SIZE.test(size))
    throw bad(
      /^[\d.]+$/.test(size)
        ? l10n.t`The mount profile's cacheMaxSize "${size}" is not a size with a unit (rclone would read it as KiB).`
        : l10n.t`The mount profile's cacheMaxSize "${size}" is not a size with a unit.`,
      l10n.t('Use a number with a unit, e.g. "20G", "500M" or "1.5T" (1G = 1024M), or "off" for no limit.'),
    );
  if (p.cacheDir !== undefined && !p.cacheDir.startsWith('/'))
    throw bad(
      l10n.t`The mount profile's cacheDir "${p.cacheDir}" is not an absolute path.`,
      l10n.t('Use an absolute path such as /data/rclone-cache (rclone runs detached, from another folder).'),
    );
  if (p.mode !== undefined && !(STORAGE_MODES as readonly string[]).includes(p.mode))
    throw bad(
      l10n.t`The mount profile's mode "${String(p.mode)}" is not one of ${STORAGE_MODES.join(', ')}.`,
      l10n.t(
        'Use "mount" (FUSE), "copy" (local copies, no FUSE needed) or "auto" (copies only where FUSE is missing).',
      ),
    );
  if (p.copyDir !== undefined && !p.copyDir.startsWith('/'))
    throw bad(
      l10n.t`The mount profile's copyDir "${p.copyDir}" is not an absolute path.`,
      l10n.t("Use an absolute path such as /data/models, or leave it out for the workspace's .rclone-devbox folder."),
    );
  if (p.dirCacheTime !== undefined && durationMs(String(p.dirCacheTime)) === undefined)
    throw bad(
      l10n.t`The mount profile's dirCacheTime "${String(p.dirCacheTime)}" is not a duration.`,
      l10n.t('Use a number with a unit, e.g. "1000h", "30m" or "1h30m" (rclone 1.60 has no "d").'),
    );
  for (const w of p.warm ?? [])
    if (typeof w !== 'string' || w.startsWith('/') || w.split('/').includes('..'))
      throw bad(
        l10n.t`The mount profile's warm entry "${String(w)}" is not a folder below the mount point.`,
        l10n.t('Give paths relative to the mount point, e.g. "cache_hub".'),
      );
  if (p.logLevel !== undefined && !(LOG_LEVELS as readonly string[]).includes(p.logLevel))
    throw bad(
      l10n.t`The mount profile's logLevel "${String(p.logLevel)}" is not one of ${LOG_LEVELS.join(', ')}.`,
      l10n.t('Use one of them, e.g. "INFO".'),
    );
  for (const [field, id] of [
    ['uid', p.uid],
    ['gid', p.gid],
  ] as const)
    if (id !== undefined && !(Number.isInteger(id) && id >= 0))
      throw bad(
        l10n.t`The mount profile's ${field} "${String(id)}" is not a user or group id.`,
        l10n.t('Use a number such as 1000.'),
      );
  for (const flag of p.extraFlags ?? [])
    if (RESERVED.test(flag))
      throw bad(
        l10n.t`The extra flag ${flag.split('=')[0]!} is set by Rclone Dev Box itself.`,
        l10n.t('Use the matching profile setting, or remove the flag.'),
      );
}

/** Flag names (no leading "--") of the rclone options that hold a secret and take a value, e.g. "b2-key". */
export type SensitiveFlags = ReadonlySet<string>;

/**
 * Option names that hold secrets. rclone 1.60 has no `Sensitive` mark and marks only some secrets
 * IsPassword (not s3 secret_access_key, b2 key, azureblob key, sftp key_pem…), so names decide too.
 * key_file, token_url, pubkey_file… are paths and URLs, not secrets.
 */
const SECRET_NAME = /(?:^|_)(?:key|secret|token|pass|password\d?|pem|credentials|sas_url)(?:_(?:id|base64|md5))?$/;

interface ProviderOption {
  Name: string;
  Type?: string;
  IsPassword?: boolean;
  /** rclone 1.63+. */
  Sensitive?: boolean;
  NoPrefix?: boolean;
}

/**
 * The sensitive flags, from `rclone config providers` (every backend's options) and `rclone help
 * flags` (global ones too, e.g. --rc-pass; on 1.60 the other global flags that match are file
 * paths such as --client-key, harmless in the environment). Booleans are left out: they take no value.
 */
function parseSensitiveFlags(providersJson: string, helpFlags: string): Set<string> {
  const sensitive = new Set<string>();
  const backendFlags = new Set<string>();
  for (const backend of JSON.parse(providersJson) as Array<{ Prefix: string; Options?: ProviderOption[] }>) {
    for (const o of backend.Options ?? []) {
      const flag = (o.NoPrefix ? o.Name : `${backend.Prefix}_${o.Name}`).replace(/_/g, '-');
      backendFlags.add(flag);
      if (o.Type !== 'bool' && (o.IsPassword || o.Sensitive || SECRET_NAME.test(o.Name))) sensitive.add(flag);
    }
  }
  // "      --rc-pass string     Password for authentication"; a flag with no type is a bool.
  for (const [, flag, type] of helpFlags.matchAll(/^\s+(?:-\w, )?--([a-z0-9][a-z0-9-]*)(?: (\w+))?\s{2,}/gm))
    if (type && !backendFlags.has(flag!) && SECRET_NAME.test(flag!.replace(/-/g, '_'))) sensitive.add(flag!);
  return sensitive;
}

const loaded = new Map<string, Promise<SensitiveFlags>>();

/** The sensitive flags of this rclone, asked once per binary and version. */
export function sensitiveFlags(rclone: Rclone): Promise<SensitiveFlags> {
  const key = `${rclone.path}\0${rclone.version.text}`;
  let flags = loaded.get(key);
  if (!flags) {
    flags = Promise.all([
      rclone.run(['config', 'providers'], { timeoutMs: 30_000 }),
      rclone.run(['help', 'flags'], { timeoutMs: 30_000 }),
    ]).then(([providers, help]) => parseSensitiveFlags(providers, help));
    void flags.catch(() => loaded.delete(key)); // ask again next time
    loaded.set(key, flags);
  }
  return flags;
}

/**
 * Splits flags into those for argv and the secret ones, which go in the environment instead:
 * argv is readable by every user (ps) and is logged, and rclone reads every flag --x-y also from
 * RCLONE_X_Y. Understands "--b2-key=V" and "--b2-key V".
 */
export function splitSecretFlags(flags: readonly string[], sensitive: SensitiveFlags): { args: string[]; env: Env } {
  const args: string[] = [];
  const env: Env = {};
  for (let i = 0; i < flags.length; i++) {
    const m = /^--([a-z0-9][a-z0-9-]*)(?:=([\s\S]*))?$/.exec(flags[i]!);
    if (!m || !sensitive.has(m[1]!)) {
      args.push(flags[i]!);
      continue;
    }
    const value = m[2] ?? flags[++i];
    if (value === undefined)
      throw new RcloneError('ConfigInvalid', l10n.t`The extra flag --${m[1]!} has no value.`, {
        fix: l10n.t`Give it one: "--${m[1]!}=…", or the value as the next element.`,
      });
    env[`RCLONE_${m[1]!.toUpperCase().replace(/-/g, '_')}`] = value;
  }
  return { args, env };
}

/**
 * `rclone mount` arguments and environment for a profile. The rc port is on argv (harmless); its
 * credentials are not: rclone checks them against an htpasswd file (`run.rcHtpasswd`, 0600, the
 * password only as a hash), never in argv or the environment, which rclone's DEBUG log would print.
 * Secret flags of the profile are in `env`.
 */
export function mountCommand(
  p: MountProfile,
  run: { rcPort: number; rcHtpasswd?: string; logFile: string; uid: number; gid: number },
  sensitive: SensitiveFlags,
): { args: string[]; env: Env } {
  checkProfile(p);
  const flags = splitSecretFlags([...(p.tuning ?? DEFAULT_TUNING), ...(p.extraFlags ?? [])], sensitive);
  // At DEBUG, rclone logs every option it takes from the environment, value included.
  if (p.logLevel === 'DEBUG' && Object.keys(flags.env).length)
    throw new RcloneError(
      'ConfigInvalid',
      l10n.t`rclone's DEBUG log would show the secret flags of the profile (${Object.keys(flags.env).join(', ')}).`,
      { fix: l10n.t("Use log level INFO, or keep the secret in the remote's config (Edit Remote).") },
    );
  const args = [
    'mount',
    '--rc',
    '--rc-addr',
    `127.0.0.1:${run.rcPort}`,
    ...(run.rcHtpasswd ? ['--rc-htpasswd', run.rcHtpasswd] : []),
    '--log-file',
    run.logFile,
    '--log-level',
    p.logLevel ?? 'INFO',
    '--vfs-cache-mode',
    p.cacheMode ?? 'writes',
    '--uid',
    String(p.uid ?? run.uid),
    '--gid',
    String(p.gid ?? run.gid),
    '--dir-cache-time',
    p.dirCacheTime ?? DEFAULT_DIR_CACHE_TIME,
  ];
  if (p.cacheDir) args.push('--cache-dir', p.cacheDir);
  if (p.cacheMaxSize) args.push('--vfs-cache-max-size', p.cacheMaxSize);
  if (p.allowOther) args.push('--allow-other');
  if (p.allowNonEmpty) args.push('--allow-non-empty');
  args.push(...flags.args, '--', p.remote, p.mountPoint);
  return { args, env: flags.env };
}
