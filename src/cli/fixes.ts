// What the CLI says about an error. Core's messages are shared with the editor, and some of its
// fixes name what only the editor has (the "rclone.path" setting, "Rclone: Add Remote", a mount
// profile, Unmount Anyway): a shell user is told the CLI's own way instead (an environment
// variable, a flag, an rclone or rclone-devbox command). rclone's raw output (the error's detail)
// is shown only when asked for (-v), after the message and the fix.
import { type ErrorKind, FIXES, type RcloneError } from '../core/errors';

/** Words that only make sense inside the editor; a fix containing one is replaced. */
export const EDITOR_WORDS =
  /"rclone\.\w+"|\brclone\.(?:path|configFile|mounts|autoMount)\b|\bRclone: |\bEdit Remote\b|\bEdit the remote\b|\bUnmount Anyway\b|\bunmount anyway\b|\bRemount\b|\bmount profile\b|\bprofile setting\b|\bShow (?:the )?log\b|\bUse Unmount\b|\bPython: Select Interpreter\b/i;

const CLI_FIXES: Partial<Record<ErrorKind, string>> = {
  RcloneMissing:
    'Install rclone 1.60 or newer (Debian/Ubuntu: sudo apt-get install rclone; or see rclone.org/install), or point RCLONE_DEVBOX_RCLONE at one (an absolute path).',
  RcloneTooOld:
    'Install a newer rclone (rclone.org/install: curl https://rclone.org/install.sh | sudo bash), or point RCLONE_DEVBOX_RCLONE at one.',
  RemoteNotFound:
    'Add it with `rclone config`, or check which config file is read: `rclone config file` (RCLONE_CONFIG is honoured).',
  AuthFailed:
    "Check the remote's access key ID and secret key (and the region, for AWS) in the config file (`rclone config file`), e.g. with `rclone config update <remote> access_key_id …`.",
  ConfigInvalid:
    'Fix the config file (`rclone config file`; remote types are listed by `rclone help backends`), or set RCLONE_CONFIG_PASS if it is encrypted.',
  AlreadyMounted: 'Unmount it first (`rclone-devbox unmount <dir>` waits for uploads), or choose another mount point.',
  MountPointNotEmpty:
    'Choose an empty folder as mount point, or mount over its files with --allow-non-empty (they are hidden while mounted).',
  Stale: 'Clean it with `rclone-devbox repair <dir>`, then mount again.',
  UploadsPending:
    'Wait longer (--wait 30m), or unmount with --force only if nothing was written to it recently (files not yet uploaded stay in the VFS cache and are uploaded at the next mount of the same remote).',
  // core's own words (the editor shows them too), then how to say it to this CLI
  CacheFull: `${FIXES.CacheFull} Mount options: --cache-max-size 10G, --cache-dir /a/bigger/disk.`,
  NotMounted:
    'Mount the bucket first (`rclone-devbox mount <remote:path> <dir>`), or clean a dead mount with `rclone-devbox repair <dir>` and mount it again.',
  LinkInTheWay:
    'Move it away yourself, or run again with --move-aside to move it to a named backup (nothing is deleted).',
  NeedsFullCache:
    'Mount with --cache-mode full to keep what is read (`rclone-devbox unmount <dir>` first), or warm the listings only (without --content).',
  WontFit:
    'Warm fewer folders, or mount again with a bigger --cache-max-size or with --cache-dir on a disk with more free space.',
  AppMissing:
    'Create a .venv in the folder (python3 -m venv .venv) or put python3 on PATH, or fix the task\'s "command".',
  Unknown: "Run again with -v to see rclone's own output.",
};

/** Fixes that call sites wrote for the editor, said the CLI's way (a function gets the match and the context). */
const CALL_SITES: [RegExp, string | ((m: RegExpExecArray, ctx: Context) => string)][] = [
  [
    /^Repair only cleans dead mounts/,
    'Repair only cleans dead mounts; `rclone-devbox unmount <dir>` unmounts a live one (it waits for uploads).',
  ],
  [/^Unmount anyway only if/, 'Unmount with --force only if nothing was written to it recently.'],
  [/^Set "rclone\.configFile"/, 'Set RCLONE_CONFIG to the config file.'],
  // prewarm.ts and link.ts: a dead mount, no mount at all
  [
    /^Repair the mount (?:first )?\((?:Rclone: )?Remount \/ Repair\)/,
    'Clean the dead mount with `rclone-devbox repair <dir>`, mount it again, then try again.',
  ],
  [
    /^Mount the bucket first \(Rclone: Mount…\), or choose a folder under a mount point/,
    'Mount the bucket first (`rclone-devbox mount <remote:path> <dir>`), or choose a folder under a mount point (`rclone-devbox mounts` lists them).',
  ],
  [
    /^Warm fewer folders at once, or check the endpoint/,
    "Warm fewer folders at once, or check the endpoint (the mount's log: `rclone-devbox mounts --json` names it).",
  ],
  [
    /^Switch it to a version first/,
    'Point it at a version first (`rclone-devbox link <folder>`): each change remembers the target it replaced, and rollback returns to it.',
  ],
  // link.ts: a real folder or file where the link should be
  [
    /^Move it away yourself \(e\.g\. (mv .*?)\), or switch again .*? aside to (.+)\.backup-<date>-<time>/s,
    (m, ctx) =>
      ctx.command === 'rollback'
        ? `Move it away yourself (e.g. ${m[1]}), then roll back again; or point the link anew with \`rclone-devbox link <folder> --move-aside\`.`
        : `Move it away yourself (e.g. ${m[1]}), or run again with --move-aside to move it to a named backup (${m[2]}.backup-<date>-<time>; nothing is deleted).`,
  ],
];

/** Profile fields named in core's messages, as the CLI's flags. */
const FLAGS: Record<string, string> = {
  cacheMode: '--cache-mode',
  cacheMaxSize: '--cache-max-size',
  cacheDir: '--cache-dir',
};

export interface Context {
  /** The mount point the command works on, put into fixes that say <dir>. */
  dir?: string;
  /** rclone-devbox is pointed at an rclone by RCLONE_DEVBOX_RCLONE. */
  configured?: boolean;
  /** The command that failed, where a fix depends on it (rollback has no --move-aside). */
  command?: string;
}

/** The fix for a shell user: core's own unless it speaks of the editor. */
export function cliFix(e: Pick<RcloneError, 'kind' | 'fix'>, ctx: Context = {}): string {
  let fix = e.fix;
  for (const [site, said] of CALL_SITES) {
    const m = site.exec(e.fix);
    if (!m) continue;
    fix = typeof said === 'string' ? said : said(m, ctx);
    break;
  }
  if (fix === FIXES[e.kind] || EDITOR_WORDS.test(fix)) fix = CLI_FIXES[e.kind] ?? fix;
  if (e.kind === 'LinkInTheWay' && ctx.command === 'rollback' && fix === CLI_FIXES.LinkInTheWay)
    fix = 'Move it away yourself, then roll back again.';
  if (e.kind === 'RcloneMissing' && ctx.configured)
    fix = 'Point RCLONE_DEVBOX_RCLONE at the rclone binary (an absolute path), or unset it to use rclone from PATH.';
  if (EDITOR_WORDS.test(fix)) fix = ''; // a call site's editor-only advice: better none than a wrong one
  return fix.replaceAll('<dir>', ctx.dir ?? '<dir>');
}

export function cliMessage(message: string): string {
  return message.replace(/The mount profile's (\w+)/g, (all, field: string) => FLAGS[field] ?? all);
}

/** The text printed for an error: message, fix, and rclone's own lines only when verbose. */
export function describe(e: RcloneError, verbose: boolean, ctx: Context = {}): string {
  const fix = cliFix(e, ctx);
  const detail = verbose && e.detail ? `\n${e.detail}` : '';
  return `${cliMessage(e.message)}${fix ? `\n${fix}` : ''}${detail}\n`;
}
