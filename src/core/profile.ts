// A mount profile: everything that decides how one bucket is mounted, and the rclone argv it
// becomes. Pure functions; no process, no file.
import { RcloneError } from './errors';

export type CacheMode = 'off' | 'minimal' | 'writes' | 'full';

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
  logLevel?: 'DEBUG' | 'INFO' | 'NOTICE' | 'ERROR';
  /** More rclone flags, one argument per element (no shell). */
  extraFlags?: readonly string[];
}

/** The seed script's tuning: long timeout for multi-GB files, a few parallel transfers, bounded retries. */
export const DEFAULT_TUNING: readonly string[] = [
  '--timeout',
  '1h',
  '--transfers',
  '4',
  '--checkers',
  '8',
  '--retries',
  '3',
];

/** Flags that would undo what the extension relies on (its own rc, log and foreground process). */
const RESERVED =
  /^--(daemon|rc|rc-[a-z-]+|log-file|log-level|config|uid|gid|allow-other|allow-non-empty|vfs-cache-mode|cache-dir|vfs-cache-max-size)(=|$)/;
/** Flags that carry secrets: those belong in the remote's config (argv is readable by every user via ps). */
const SECRET = /^--[a-z0-9-]*(secret|pass|password|token|key-id|access-key|session)[a-z0-9-]*(=|$)/i;

export function checkProfile(p: MountProfile): void {
  const bad = (message: string, fix: string) => new RcloneError('ConfigInvalid', message, { fix });
  if (!/^[^:/]*:/.test(p.remote) && !p.remote.startsWith('/')) {
    throw bad(`"${p.remote}" is not an rclone path.`, 'Use the form remote:bucket/path.');
  }
  if (!p.mountPoint.startsWith('/'))
    throw bad(
      `The mount point "${p.mountPoint}" is not an absolute path.`,
      'Use an absolute path such as /mnt/index-tts-storage.',
    );
  for (const flag of p.extraFlags ?? []) {
    if (SECRET.test(flag))
      throw bad(
        `The extra flag ${flag.split('=')[0]} would put a secret on the command line, where other users can read it.`,
        "Put it in the remote's config (Edit Remote) instead.",
      );
    if (RESERVED.test(flag))
      throw bad(
        `The extra flag ${flag.split('=')[0]} is set by Rclone Dev Box itself.`,
        'Use the matching profile setting, or remove the flag.',
      );
  }
}

/**
 * `rclone mount` arguments for a profile. The rc port is on argv (harmless); its credentials are
 * not: they go in RCLONE_RC_USER / RCLONE_RC_PASS.
 */
export function mountArgs(
  p: MountProfile,
  run: { rcPort: number; logFile: string; uid: number; gid: number },
): string[] {
  checkProfile(p);
  const args = [
    'mount',
    '--rc',
    '--rc-addr',
    `127.0.0.1:${run.rcPort}`,
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
    ...(p.tuning ?? DEFAULT_TUNING),
  ];
  if (p.cacheDir) args.push('--cache-dir', p.cacheDir);
  if (p.cacheMaxSize) args.push('--vfs-cache-max-size', p.cacheMaxSize);
  if (p.allowOther) args.push('--allow-other');
  if (p.allowNonEmpty) args.push('--allow-non-empty');
  args.push(...(p.extraFlags ?? []), '--', p.remote, p.mountPoint);
  return args;
}
