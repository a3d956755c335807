// Errors are values with a kind. Core turns rclone's exit code and stderr into one of these;
// the editor maps the kind to a message and action buttons. No raw stack trace reaches a user.

export type ErrorKind =
  | 'RcloneMissing'
  | 'RcloneTooOld'
  | 'RemoteNotFound'
  | 'AuthFailed'
  | 'BucketNotFound'
  | 'NotFound'
  | 'PermissionDenied'
  | 'Unreachable'
  | 'Timeout'
  | 'TlsError'
  | 'CaBundle'
  | 'FuseMissing'
  | 'AllowOtherNotPermitted'
  | 'MountPointNotEmpty'
  | 'ConfigInvalid'
  | 'AlreadyMounted'
  | 'Stale'
  | 'UploadsPending'
  | 'NotAnswering'
  | 'CacheFull'
  | 'MountBusy'
  | 'NotMounted'
  | 'LinkInTheWay'
  | 'NeedsFullCache'
  | 'WontFit'
  | 'PortInUse'
  | 'AppMissing'
  | 'AppFailed'
  | 'Cancelled'
  | 'Unknown';

/** What the user can do about each kind of error, in one sentence (a call site may say more). */
export const FIXES: Record<ErrorKind, string> = {
  RcloneMissing:
    'Install rclone 1.60 or newer (Debian/Ubuntu: sudo apt-get install rclone; or see rclone.org/install), or set "rclone.path".',
  RcloneTooOld:
    'Install a newer rclone (rclone.org/install: curl https://rclone.org/install.sh | sudo bash), or set "rclone.path" to one.',
  RemoteNotFound: 'Add the remote (Rclone: Add Remote) or check the config file in use (`rclone config file`).',
  AuthFailed: 'Edit the remote and check its access key ID and secret key (and the region, for AWS).',
  BucketNotFound: 'Check the bucket name (buckets are case-sensitive), or create it in the provider console.',
  NotFound: 'Check the path; folders in object storage exist only while something is stored under them.',
  PermissionDenied: 'Check that the key (or local user) is allowed to read this path; for a bucket, check its policy.',
  Unreachable: 'Check the endpoint URL in the remote (host, port, http/https) and that the server is up.',
  Timeout: 'Check the endpoint and the network (firewall, proxy); a slow link may need a longer timeout.',
  TlsError:
    'Check that the endpoint URL uses the right scheme (http/https); for a private CA, give rclone its bundle with --ca-cert (RCLONE_CA_CERT).',
  CaBundle: 'Unset AWS_CA_BUNDLE for rclone, or point rclone at the bundle with --ca-cert (RCLONE_CA_CERT) instead.',
  FuseMissing:
    'Install FUSE (Debian/Ubuntu: sudo apt-get install fuse3) and make sure /dev/fuse exists (in a container: --device /dev/fuse --cap-add SYS_ADMIN).',
  AllowOtherNotPermitted: 'Add a line "user_allow_other" to /etc/fuse.conf (as root), or mount without allow-other.',
  MountPointNotEmpty:
    'Choose an empty folder as mount point, or allow mounting over existing files in the mount profile.',
  ConfigInvalid:
    'Open the config file (`rclone config file`) and fix it (remote types are listed by `rclone help backends`), or set RCLONE_CONFIG_PASS if it is encrypted.',
  AlreadyMounted: 'Unmount it first, or choose another mount point.',
  Stale: 'Repair the mount (a lazy unmount of the dead mount point), then mount again.',
  UploadsPending:
    'Wait for the uploads to finish, or unmount anyway (the files stay in the VFS cache and are uploaded at the next mount of the same remote).',
  NotAnswering:
    'Its rclone is alive but does not answer (a stuck endpoint, or a stopped process: kill -CONT <pid>). It was left running so nothing written to it is lost; try again once it answers.',
  CacheFull:
    'Free space on the disk of the VFS cache, or mount again with a smaller cache size limit or with the cache on a bigger disk.',
  NotMounted: 'Mount the bucket first (Rclone: Mount…), or repair it if its mount is stale.',
  LinkInTheWay:
    'Move the folder or file away yourself, or let Rclone Dev Box move it aside to a named backup (nothing is deleted).',
  NeedsFullCache:
    'Content is kept only with the VFS cache mode "full": remount with cacheMode "full" (Remount in Full Mode), or warm metadata only.',
  WontFit:
    "Warm fewer files, raise the mount's cacheMaxSize, or put the cache (cacheDir) on a disk with more free space.",
  MountBusy: "Close what uses files under the mount point (terminals cd'd into it, webui.py, editors), then try again.",
  PortInUse: 'Stop the process that holds the port, or change the port in the task (its "readyUrl" and --port).',
  AppMissing:
    'Select an interpreter with "Python: Select Interpreter", create a .venv in the folder (python3 -m venv .venv), or fix the task\'s "command".',
  AppFailed: "The app's last lines (and its log) say why it stopped: fix that, then start it again.",
  Cancelled: '',
  Unknown: "Show the log for rclone's full output.",
};

export class RcloneError extends Error {
  override readonly name = 'RcloneError';
  /** What the user can do about it, in one sentence. */
  readonly fix: string;
  /** The lines of rclone's output that led here, secrets removed. */
  readonly detail: string;

  constructor(
    readonly kind: ErrorKind,
    message: string,
    more: { fix?: string; detail?: string } = {},
  ) {
    super(message);
    this.fix = more.fix ?? FIXES[kind];
    this.detail = more.detail ?? '';
  }
}

export const isRcloneError = (e: unknown, kind?: ErrorKind): e is RcloneError =>
  e instanceof RcloneError && (kind === undefined || e.kind === kind);

/** How a message names `target`: a remote's root "bad:" as "bad" (no stray colon), a path as it is. */
const named = (target: string) => target.replace(/:$/, '');
/** The remote of "remote:bucket/path": credentials, endpoints and TLS belong to the remote, not to a path. */
const remoteOf = (target: string) => (target.includes(':') ? target.slice(0, target.indexOf(':')) : target);

/**
 * Wordings core also uses outside `classify` (listing.ts), so that a missing bucket or path reads
 * the same in the tree, in Go to Path, in a failed mount and in the CLI.
 */
export const say = {
  notFound: (target: string) => `${named(target)} was not found.`,
  noBucket: (target: string) =>
    `There is no bucket "${target.slice(target.indexOf(':') + 1).split('/')[0]}" on ${remoteOf(target)}.`,
};

interface Rule {
  kind: ErrorKind;
  test: RegExp;
  message: (target: string, mountPoint: string) => string;
  fix?: (mountPoint: string) => string;
}

// Order matters: the first rule whose pattern matches rclone's output wins. More specific
// causes come before the generic ones they are usually wrapped in (a CA bundle error is also
// "a request failed"; a missing fusermount is also "not found"; a refused connection is not a
// missing directory).
const rules: Rule[] = [
  {
    kind: 'CaBundle',
    test: /LoadCustomCABundleError|failed to load custom CA bundle|unsupported transport/i,
    message: () => 'rclone could not use the CA bundle named by AWS_CA_BUNDLE.',
  },
  {
    kind: 'TlsError',
    test: /x509:|tls: |certificate (?:signed by unknown authority|has expired|is not valid)|server gave HTTP response to HTTPS client|first record does not look like a TLS handshake/i,
    message: (t) => `The TLS connection to the endpoint of ${remoteOf(t)} failed.`,
  },
  {
    kind: 'RemoteNotFound',
    test: /didn't find section in config file|Failed to create file system for "[^"]*": didn't find section/i,
    message: (t) => `There is no remote called "${t.split(':')[0]}" in the rclone config.`,
  },
  {
    kind: 'ConfigInvalid',
    test: /couldn't decrypt config file|unable to decrypt configuration|Failed to load config file|config file .* (?:is|was) invalid|unknown backend|didn't find backend called/i,
    message: () => 'The rclone config file cannot be read.',
  },
  {
    kind: 'AllowOtherNotPermitted',
    test: /allow_other only allowed if 'user_allow_other' is set/i,
    message: () => '--allow-other needs user_allow_other in /etc/fuse.conf.',
  },
  {
    // fusermount's own refusal, which rclone wraps in "failed to mount FUSE fs": FUSE works, the folder is the problem.
    kind: 'PermissionDenied',
    test: /user has no write access to mountpoint|fusermount3?: (?:failed to (?:access|chdir to) mountpoint|bad mount point).*(?:Permission denied|EACCES)/i,
    message: (_t, mp) => `You may not mount on ${mp}: it is not yours to write to.`,
    fix: (mp) =>
      `Choose a mount point you own (e.g. under your home), or have it given to you once: sudo chown "$(id -u):$(id -g)" ${mp}`,
  },
  {
    kind: 'FuseMissing',
    test: /fusermount3?: exec|"fusermount3?": executable file not found|\/dev\/fuse|fuse: device not found|failed to mount FUSE fs|no FUSE mount utility found|fusermount.*not found/i,
    message: () => 'FUSE is not available on this machine.',
  },
  {
    kind: 'MountPointNotEmpty',
    test: /Directory is not empty|--allow-non-empty/i,
    message: (_t, mp) => `The mount point ${mp} is not empty.`,
  },
  {
    kind: 'AuthFailed',
    test: /SignatureDoesNotMatch|InvalidAccessKeyId|InvalidToken|ExpiredToken|InvalidClientTokenId|AuthorizationHeaderMalformed|status code: 401|NoCredentialProviders|no EC2 instance role found|couldn't find credentials/i,
    message: (t) => `The credentials for ${remoteOf(t)} were refused.`,
  },
  {
    kind: 'BucketNotFound',
    test: /NoSuchBucket|bucket (?:does not exist|not found)|The specified bucket does not exist/i,
    message: say.noBucket,
  },
  {
    kind: 'Timeout',
    test: /i\/o timeout|context deadline exceeded|Client\.Timeout exceeded|timeout awaiting response headers|TLS handshake timeout|RequestTimeout/i,
    message: (t) => `The endpoint of ${remoteOf(t)} did not answer in time.`,
  },
  {
    kind: 'Unreachable',
    test: /connection refused|no such host|network is unreachable|no route to host|connection reset by peer|dial tcp|RequestError: send request failed/i,
    message: (t) => `The endpoint of ${remoteOf(t)} cannot be reached.`,
  },
  {
    kind: 'PermissionDenied',
    test: /AccessDenied|permission denied|operation not permitted|status code: 403|Forbidden/i,
    message: (t) => `Permission denied for ${named(t)}.`,
  },
  {
    kind: 'NotFound',
    test: /directory not found|object not found|no such file or directory|NoSuchKey|not found/i,
    message: say.notFound,
  },
];

/**
 * Secrets that rclone or the AWS SDK may echo (config lines, JSON, env, flags); replaced before any
 * text leaves core. The secret's name is a whole word or the last part of a name (sse_customer_key,
 * RCLONE_RC_PASS, --b2-key), so `compass:models`, `bypass=1` or `monkey: 3` are left alone.
 */
const secretAssignment =
  /(?<![A-Za-z0-9])((?:[A-Za-z0-9]+[_-])*(?:key|secret|token|pass|passwd|password\d?|credentials|pem|sas_url)(?:[_-](?:id|base64|md5))?"?\s*[=:]\s*)("?)[^\s",]+\2/gi;
const urlCredentials = /(\/\/[^/:@\s]+:)[^@/\s]+@/g;
/** A secret flag and its value after a space, as rclone -vv logs one read from the environment: `Setting --rc-pass "…"`. */
const secretFlagValue =
  /(--(?:[a-z0-9]+-)*(?:key|secret|token|pass|passwd|password\d?|credentials)\s+)("?)[^\s",]+\2/gi;

export function redact(text: string, secrets: readonly string[] = []): string {
  let out = text
    .replace(secretAssignment, '$1$2***$2')
    .replace(secretFlagValue, '$1$2***$2')
    .replace(urlCredentials, '$1***@');
  for (const s of secrets) if (s.length >= 4) out = out.split(s).join('***');
  return out;
}

/** The lines of rclone output worth showing: its ERROR/Failed lines, or else its last lines. */
function relevantLines(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trimEnd())
    .filter(Boolean);
  const errors = lines.filter((l) => /ERROR|Failed|Fatal|error:|fusermount/i.test(l));
  return (errors.length ? errors : lines).slice(-6).join('\n');
}

export interface Failure {
  /** rclone's exit code; undefined when it was killed. */
  exitCode?: number;
  stderr: string;
  /** What was being worked on, e.g. "remote:bucket/path". */
  target: string;
  /** The mount point, when mounting (named by the mount point's errors instead of the target). */
  mountPoint?: string;
  secrets?: readonly string[];
}

export function classify(f: Failure): RcloneError {
  const detail = redact(relevantLines(f.stderr), f.secrets);
  const text = f.stderr;
  for (const rule of rules) {
    if (!rule.test.test(text)) continue;
    const mp = f.mountPoint ?? f.target;
    return new RcloneError(rule.kind, rule.message(f.target, mp), { detail, fix: rule.fix?.(mp) });
  }
  const first = detail.split('\n').pop() ?? '';
  return new RcloneError(
    'Unknown',
    `rclone failed on ${named(f.target)}${f.exitCode === undefined ? '' : ` (exit code ${f.exitCode})`}${first ? `: ${first}` : '.'}`,
    { detail },
  );
}
