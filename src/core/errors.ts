// Errors are values with a kind. Core turns rclone's exit code and stderr into one of these;
// the editor maps the kind to a message and action buttons. No raw stack trace reaches a user.
import * as l10n from '@vscode/l10n';

export type ErrorKind =
  | 'RcloneMissing'
  | 'RcloneTooOld'
  | 'RemoteNotFound'
  | 'CredentialsExpired'
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
  | 'DownloadCorrupt'
  | 'PortInUse'
  | 'AppMissing'
  | 'AppFailed'
  | 'Cancelled'
  | 'Unknown';

/** One row of the troubleshooting table (the README's is generated from these: `npm run readme`). */
export interface Trouble {
  /** The message users see for this kind (or its start); "…" stands for what varies. */
  readonly seen: string;
  /** Why it happens, in one short sentence. */
  readonly cause: string;
  /** What the user can do about it, in one sentence (a call site may say more). */
  readonly fix: string;
}

// Each kind's row is made when it is read, never at module load: the language bundle is configured
// after the modules are loaded, and a string translated before that would stay English.
const rows: Record<ErrorKind, () => Trouble> = {
  RcloneMissing: () => ({
    seen: l10n.t('rclone is not installed (not found on PATH).'),
    cause: l10n.t('There is no rclone on PATH, or "rclone.path" does not name an rclone binary.'),
    fix: l10n.t(
      'Install rclone with "Rclone: Install or Update rclone" (the official release, checked, into the extension\'s folder: no sudo), or set "rclone.path" to an rclone 1.60 or newer.',
    ),
  }),
  RcloneTooOld: () => ({
    seen: l10n.t('rclone … is installed at …; Rclone Dev Box needs 1.60.0 or newer.'),
    cause: l10n.t('The rclone found is older than 1.60.'),
    fix: l10n.t(
      'Install a newer rclone with "Rclone: Install or Update rclone" (no sudo; the old one is left as it is), or set "rclone.path" to one.',
    ),
  }),
  RemoteNotFound: () => ({
    seen: l10n.t('There is no remote called "…" in the rclone config.'),
    cause: l10n.t('The name before the colon is not a remote of the rclone config file in use.'),
    fix: l10n.t('Add the remote (Rclone: Add Remote) or check the config file in use (`rclone config file`).'),
  }),
  CredentialsExpired: () => ({
    seen: l10n.t('The credentials for … have expired.'),
    cause: l10n.t(
      "The remote's short-lived credentials (an STS session token) ran out, or the endpoint no longer accepts its token.",
    ),
    fix: l10n.t(
      'Edit the remote with fresh credentials (keys and session token), or let a credentials command renew them, then Remount.',
    ),
  }),
  AuthFailed: () => ({
    seen: l10n.t('The credentials for … were refused.'),
    cause: l10n.t("The endpoint refused the remote's access key ID or secret key (or, on AWS, the region)."),
    fix: l10n.t('Edit the remote and check its access key ID and secret key (and the region, for AWS).'),
  }),
  BucketNotFound: () => ({
    seen: l10n.t('There is no bucket "…" on …'),
    cause: l10n.t('The endpoint has no bucket of that name, or it was deleted since it was listed.'),
    fix: l10n.t('Check the bucket name (buckets are case-sensitive), or create it in the provider console.'),
  }),
  NotFound: () => ({
    seen: l10n.t('… was not found.'),
    cause: l10n.t('Nothing is stored under that path.'),
    fix: l10n.t('Check the path; folders in object storage exist only while something is stored under them.'),
  }),
  PermissionDenied: () => ({
    seen: l10n.t('Permission denied for … / Cannot create the mount point …: you may not write in …'),
    cause: l10n.t("The key's policy, or the local user's rights on a folder, do not allow it."),
    fix: l10n.t('Check that the key (or local user) is allowed to read this path; for a bucket, check its policy.'),
  }),
  Unreachable: () => ({
    seen: l10n.t('The endpoint of … cannot be reached.'),
    cause: l10n.t("The endpoint's host does not resolve, or nothing answers on its port."),
    fix: l10n.t('Check the endpoint URL in the remote (host, port, http/https) and that the server is up.'),
  }),
  Timeout: () => ({
    seen: l10n.t('The endpoint of … did not answer in time.'),
    cause: l10n.t('The endpoint, or the network on the way to it, did not answer within the time allowed.'),
    fix: l10n.t('Check the endpoint and the network (firewall, proxy); a slow link may need a longer timeout.'),
  }),
  TlsError: () => ({
    seen: l10n.t('The TLS connection to the endpoint of … failed.'),
    cause: l10n.t('The endpoint speaks http where the remote says https, or its certificate is not trusted.'),
    fix: l10n.t(
      'Check that the endpoint URL uses the right scheme (http/https); for a private CA, give rclone its bundle with --ca-cert (RCLONE_CA_CERT).',
    ),
  }),
  CaBundle: () => ({
    seen: l10n.t('rclone could not use the CA bundle named by AWS_CA_BUNDLE.'),
    cause: l10n.t('rclone before 1.69 cannot load the bundle AWS_CA_BUNDLE names ("unsupported transport").'),
    fix: l10n.t(
      'Unset AWS_CA_BUNDLE for rclone, or point rclone at the bundle with --ca-cert (RCLONE_CA_CERT) instead.',
    ),
  }),
  FuseMissing: () => ({
    seen: l10n.t('FUSE is not available on this machine.'),
    cause: l10n.t('fusermount3 (or fusermount) is not installed, or /dev/fuse is missing (often in a container).'),
    fix: l10n.t(
      'Install FUSE (Debian/Ubuntu: sudo apt-get install fuse3) and make sure /dev/fuse exists (in a container: --device /dev/fuse --cap-add SYS_ADMIN).',
    ),
  }),
  AllowOtherNotPermitted: () => ({
    seen: l10n.t('Mounting with allow-other needs "user_allow_other" in /etc/fuse.conf.'),
    cause: l10n.t('FUSE lets only root mount with allow-other unless /etc/fuse.conf allows it.'),
    fix: l10n.t('Add a line "user_allow_other" to /etc/fuse.conf (as root), or mount without allow-other.'),
  }),
  MountPointNotEmpty: () => ({
    seen: l10n.t('The mount point … is not empty.'),
    cause: l10n.t('The folder has files, and a mount over them would hide them.'),
    fix: l10n.t('Choose an empty folder as mount point, or allow mounting over existing files in the mount profile.'),
  }),
  ConfigInvalid: () => ({
    seen: l10n.t('The rclone config file cannot be read.'),
    cause: l10n.t(
      'The config file has a line rclone cannot read or a remote type it does not know, or it is encrypted.',
    ),
    fix: l10n.t(
      'Open the config file (`rclone config file`) and fix it (remote types are listed by `rclone help backends`), or set RCLONE_CONFIG_PASS if it is encrypted.',
    ),
  }),
  AlreadyMounted: () => ({
    seen: l10n.t('… already has … mounted.'),
    cause: l10n.t('Something is mounted on that mount point already.'),
    fix: l10n.t('Unmount it first, or choose another mount point.'),
  }),
  Stale: () => ({
    seen: l10n.t('… is a dead mount (its rclone is gone): "Transport endpoint is not connected".'),
    cause: l10n.t('The rclone serving the mount was killed; the mount point was left behind.'),
    fix: l10n.t('Repair the mount (a lazy unmount of the dead mount point), then mount again.'),
  }),
  UploadsPending: () => ({
    seen: l10n.t('… files are still uploading from …; it stays mounted.'),
    cause: l10n.t('Files written to the mount are still in the VFS cache, not yet in the bucket.'),
    fix: l10n.t(
      'Wait for the uploads to finish, or unmount anyway (the files stay in the VFS cache and are uploaded at the next mount of the same remote).',
    ),
  }),
  NotAnswering: () => ({
    seen: l10n.t('… does not answer (rclone pid … is alive); it was left as it is.'),
    cause: l10n.t("The mount's rclone is alive but stuck on its endpoint, or stopped."),
    fix: l10n.t(
      'Its rclone is alive but does not answer (a stuck endpoint, or a stopped process: kill -CONT <pid>). It was left running so nothing written to it is lost; try again once it answers.',
    ),
  }),
  CacheFull: () => ({
    seen: l10n.t('The VFS cache disk of … is full: writes to it fail.'),
    cause: l10n.t('The disk that holds the VFS cache has no space left.'),
    fix: l10n.t(
      'Free space on the disk of the VFS cache, or mount again with a smaller cache size limit or with the cache on a bigger disk.',
    ),
  }),
  MountBusy: () => ({
    seen: l10n.t('… is in use and was not unmounted.'),
    cause: l10n.t('A process has a file, or its working folder, under the mount point.'),
    fix: l10n.t(
      "Close what uses files under the mount point (terminals cd'd into it, webui.py, editors), then try again.",
    ),
  }),
  NotMounted: () => ({
    seen: l10n.t('No mount holds …; nothing was changed.'),
    cause: l10n.t('Linking and warming work on folders of a live mount, and this folder is not on one.'),
    fix: l10n.t('Mount the bucket first (Rclone: Mount…), or repair it if its mount is stale.'),
  }),
  LinkInTheWay: () => ({
    seen: l10n.t('… is a real folder, not a link; it was left as it is.'),
    cause: l10n.t('A real folder or file is where the model link should be.'),
    fix: l10n.t(
      'Move the folder or file away yourself, or let Rclone Dev Box move it aside to a named backup (nothing is deleted).',
    ),
  }),
  NeedsFullCache: () => ({
    seen: l10n.t(
      '… is mounted with cache mode "writes": it does not keep what is read, so warming content would fetch it for nothing.',
    ),
    cause: l10n.t('Only the VFS cache mode "full" keeps the content of the files that were read.'),
    fix: l10n.t(
      'Content is kept only with the VFS cache mode "full": remount with cacheMode "full" (Remount in Full Mode), or warm metadata only.',
    ),
  }),
  DownloadCorrupt: () => ({
    seen: l10n.t('… does not match its SHA256SUMS entry … / The archive is not a usable zip file …'),
    cause: l10n.t('The rclone download was cut or changed on the way (a proxy, an outdated mirror).'),
    fix: l10n.t('Try again; if it happens again, check the download base URL. Nothing was installed.'),
  }),
  WontFit: () => ({
    seen: l10n.t(
      '… holds …; the VFS cache of … is limited to … / … needs … more in the VFS cache; the disk of … has … free.',
    ),
    cause: l10n.t("The files to warm are bigger than the cache's size limit or the free space of its disk."),
    fix: l10n.t(
      "Warm fewer files, raise the mount's cacheMaxSize, or put the cache (cacheDir) on a disk with more free space.",
    ),
  }),
  PortInUse: () => ({
    seen: l10n.t('Port … is already in use by …'),
    cause: l10n.t("Another process, often an earlier copy of the app, listens on the app's port."),
    fix: l10n.t('Stop the process that holds the port, or change the port in the task (its "readyUrl" and --port).'),
  }),
  AppMissing: () => ({
    seen: l10n.t('Python was not found: … / … was not found in …'),
    cause: l10n.t("The task's interpreter or script is not where the task says."),
    fix: l10n.t(
      'Select an interpreter with "Python: Select Interpreter", create a .venv in the folder (python3 -m venv .venv), or fix the task\'s "command".',
    ),
  }),
  AppFailed: () => ({
    seen: l10n.t('The app exited with code … before it was ready.'),
    cause: l10n.t('The app stopped before its "readyUrl" answered (or its "readyPattern" was printed).'),
    fix: l10n.t("The app's last lines (and its log) say why it stopped: fix that, then start it again."),
  }),
  Cancelled: () => ({
    seen: l10n.t('Cancelled: …'),
    cause: l10n.t('You cancelled it.'),
    fix: '',
  }),
  Unknown: () => ({
    seen: l10n.t('rclone failed on … (exit code …): …'),
    cause: l10n.t('rclone failed in a way not listed here; its last error line follows the message.'),
    fix: l10n.t("Show the log for rclone's full output."),
  }),
};

/** A table whose entries are read afresh (so translated) each time, one per kind, in `ErrorKind` order. */
function lazily<T>(entry: (kind: ErrorKind) => T): Readonly<Record<ErrorKind, T>> {
  const table = {} as Record<ErrorKind, T>;
  for (const kind of Object.keys(rows) as ErrorKind[])
    Object.defineProperty(table, kind, { get: () => entry(kind), enumerable: true });
  return Object.freeze(table);
}

/** Per kind of error: the message users see, why it happens, and what to do about it. */
export const TROUBLES: Readonly<Record<ErrorKind, Trouble>> = lazily((kind) => rows[kind]());

/** What the user can do about each kind of error, in one sentence (a call site may say more). */
export const FIXES: Readonly<Record<ErrorKind, string>> = lazily((kind) => rows[kind]().fix);

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
  notFound: (target: string) => l10n.t`${named(target)} was not found.`,
  noBucket: (target: string) =>
    l10n.t`There is no bucket "${target.slice(target.indexOf(':') + 1).split('/')[0] ?? ''}" on ${remoteOf(target)}.`,
  /** Also what a running mount is said to have when its rclone's requests meet these errors (mounts.ts). */
  credentialsExpired: (target: string) => l10n.t`The credentials for ${remoteOf(target)} have expired.`,
  credentialsRefused: (target: string) => l10n.t`The credentials for ${remoteOf(target)} were refused.`,
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
    message: () => l10n.t('rclone could not use the CA bundle named by AWS_CA_BUNDLE.'),
  },
  {
    kind: 'TlsError',
    test: /x509:|tls: |certificate (?:signed by unknown authority|has expired|is not valid)|server gave HTTP response to HTTPS client|first record does not look like a TLS handshake/i,
    message: (t) => l10n.t`The TLS connection to the endpoint of ${remoteOf(t)} failed.`,
  },
  {
    kind: 'RemoteNotFound',
    test: /didn't find section in config file|Failed to create file system for "[^"]*": didn't find section/i,
    message: (t) => l10n.t`There is no remote called "${t.split(':')[0] ?? ''}" in the rclone config.`,
  },
  {
    kind: 'ConfigInvalid',
    test: /couldn't decrypt config file|unable to decrypt configuration|Failed to load config file|config file .* (?:is|was) invalid|unknown backend|didn't find backend called/i,
    message: () => l10n.t('The rclone config file cannot be read.'),
  },
  {
    kind: 'AllowOtherNotPermitted',
    test: /allow_other only allowed if 'user_allow_other' is set/i,
    message: () => l10n.t('--allow-other needs user_allow_other in /etc/fuse.conf.'),
  },
  {
    // fusermount's own refusal, which rclone wraps in "failed to mount FUSE fs": FUSE works, the folder is the problem.
    kind: 'PermissionDenied',
    test: /user has no write access to mountpoint|fusermount3?: (?:failed to (?:access|chdir to) mountpoint|bad mount point).*(?:Permission denied|EACCES)/i,
    message: (_t, mp) => l10n.t`You may not mount on ${mp}: it is not yours to write to.`,
    fix: (mp) =>
      l10n.t`Choose a mount point you own (e.g. under your home), or have it given to you once: sudo chown "$(id -u):$(id -g)" ${mp}`,
  },
  {
    kind: 'FuseMissing',
    test: /fusermount3?: exec|"fusermount3?": executable file not found|\/dev\/fuse|fuse: device not found|failed to mount FUSE fs|no FUSE mount utility found|fusermount.*not found/i,
    message: () => l10n.t('FUSE is not available on this machine.'),
  },
  {
    kind: 'MountPointNotEmpty',
    test: /Directory is not empty|--allow-non-empty/i,
    message: (_t, mp) => l10n.t`The mount point ${mp} is not empty.`,
  },
  {
    // Short-lived credentials that ran out (AWS: "ExpiredToken: The provided token has expired.", or
    // "The security token included in the request is expired" from STS and other services), or a
    // session token the endpoint no longer takes: renewing them is the fix, not checking the keys.
    kind: 'CredentialsExpired',
    test: /ExpiredToken|InvalidToken|TokenRefreshRequired|The provided token (?:has expired|must be refreshed)|security token included in the request is expired|SSO session has expired/i,
    message: say.credentialsExpired,
  },
  {
    kind: 'AuthFailed',
    test: /SignatureDoesNotMatch|InvalidAccessKeyId|InvalidClientTokenId|AuthorizationHeaderMalformed|status code: 401|NoCredentialProviders|no EC2 instance role found|couldn't find credentials/i,
    message: say.credentialsRefused,
  },
  {
    kind: 'BucketNotFound',
    test: /NoSuchBucket|bucket (?:does not exist|not found)|The specified bucket does not exist/i,
    message: say.noBucket,
  },
  {
    kind: 'Timeout',
    test: /i\/o timeout|context deadline exceeded|Client\.Timeout exceeded|timeout awaiting response headers|TLS handshake timeout|RequestTimeout/i,
    message: (t) => l10n.t`The endpoint of ${remoteOf(t)} did not answer in time.`,
  },
  {
    kind: 'Unreachable',
    test: /connection refused|no such host|network is unreachable|no route to host|connection reset by peer|dial tcp|RequestError: send request failed/i,
    message: (t) => l10n.t`The endpoint of ${remoteOf(t)} cannot be reached.`,
  },
  {
    kind: 'PermissionDenied',
    test: /AccessDenied|permission denied|operation not permitted|status code: 403|Forbidden/i,
    message: (t) => l10n.t`Permission denied for ${named(t)}.`,
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
  const on = named(f.target);
  const code = f.exitCode;
  const message =
    code === undefined
      ? first
        ? l10n.t`rclone failed on ${on}: ${first}`
        : l10n.t`rclone failed on ${on}.`
      : first
        ? l10n.t`rclone failed on ${on} (exit code ${code}): ${first}`
        : l10n.t`rclone failed on ${on} (exit code ${code}).`;
  return new RcloneError('Unknown', message, { detail });
}
