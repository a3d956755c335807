// What the CLI says about an error. Core's messages are shared with the editor, and some of its
// fixes name what only the editor has (the "rclone.path" setting, "Rclone: Add Remote", a mount
// profile, Unmount Anyway): a shell user is told the CLI's own way instead (an environment
// variable, a flag, an rclone or rclone-devbox command). rclone's raw output (the error's detail)
// is shown only when asked for (-v), after the message and the fix.
import { readFileSync } from 'node:fs';
import * as l10n from '@vscode/l10n';
import { type ErrorKind, FIXES, type RcloneError } from '../core/errors';

/** Words that only make sense inside the editor; a fix containing one is replaced. */
export const EDITOR_WORDS =
  /"rclone\.\w+"|\brclone\.(?:path|configFile|mounts|autoMount)\b|\bRclone: |\bEdit Remote\b|\bEdit the remote\b|\bUnmount Anyway\b|\bunmount anyway\b|\bRemount\b|\bmount profile\b|\bprofile setting\b|\bShow (?:the )?log\b|\bUse Unmount\b|\bPython: Select Interpreter\b/i;

/**
 * The editor's command titles as the Chinese UI shows them: only a safety net for a translated fix
 * that cannot be read back into English (englishOf), as EDITOR_WORDS is tested on the English.
 */
const EDITOR_WORDS_ZH = /编辑远程存储|仍然卸载|重新挂载 \/ 修复|显示日志|选择解释器/;

/** The CLI's own fix for a kind, where core's speaks of the editor. Getters: translated when read. */
const CLI_FIXES: Partial<Record<ErrorKind, string>> = {
  get RcloneMissing() {
    return l10n.t(
      'Run `rclone-devbox install-rclone` (no sudo: it goes to ~/.local/share/rclone-devbox/bin), or install rclone 1.60 or newer (rclone.org/install), or point RCLONE_DEVBOX_RCLONE at one (an absolute path).',
    );
  },
  get RcloneTooOld() {
    return l10n.t(
      'Run `rclone-devbox install-rclone` (no sudo; rclone-devbox then uses it, and the old one stays as it is), or install a newer rclone (rclone.org/install), or point RCLONE_DEVBOX_RCLONE at one.',
    );
  },
  get RemoteNotFound() {
    return l10n.t(
      'Add it with `rclone config`, or check which config file is read: `rclone config file` (RCLONE_CONFIG is honoured).',
    );
  },
  get CredentialsExpired() {
    return l10n.t(
      'Put fresh credentials (keys and session token) in the remote with `rclone config` (the file: `rclone config file`), or let a credentials command renew them, then unmount and mount again.',
    );
  },
  get AuthFailed() {
    return l10n.t(
      "Check the remote's access key ID and secret key (and the region, for AWS) in the config file (`rclone config file`), e.g. with `rclone config`, choosing e (Edit existing remote) (it asks for them, so they stay off the command line).",
    );
  },
  get ConfigInvalid() {
    return l10n.t(
      'Fix the config file (`rclone config file`; remote types are listed by `rclone help backends`), or set RCLONE_CONFIG_PASS if it is encrypted.',
    );
  },
  get AlreadyMounted() {
    return l10n.t('Unmount it first (`rclone-devbox unmount <dir>` waits for uploads), or choose another mount point.');
  },
  get MountPointNotEmpty() {
    return l10n.t(
      'Choose an empty folder as mount point, or mount over its files with --allow-non-empty (they are hidden while mounted).',
    );
  },
  get Stale() {
    return l10n.t('Clean it with `rclone-devbox repair <dir>`, then mount again.');
  },
  get UploadsPending() {
    return l10n.t(
      'Wait longer (--wait 30m), or unmount with --force only if nothing was written to it recently (files not yet uploaded stay in the VFS cache and are uploaded at the next mount of the same remote).',
    );
  },
  // core's own words (the editor shows them too), then how to say it to this CLI
  get CacheFull() {
    return `${FIXES.CacheFull} ${l10n.t('Mount options: --cache-max-size 10G, --cache-dir /a/bigger/disk.')}`;
  },
  get NotMounted() {
    return l10n.t(
      'Mount the bucket first (`rclone-devbox mount <remote:path> <dir>`), or clean a dead mount with `rclone-devbox repair <dir>` and mount it again.',
    );
  },
  get LinkInTheWay() {
    return l10n.t(
      'Move it away yourself, or run again with --move-aside to move it to a named backup (nothing is deleted).',
    );
  },
  get NeedsFullCache() {
    return l10n.t(
      'Mount with --cache-mode full to keep what is read (`rclone-devbox unmount <dir>` first), or warm the listings only (without --content).',
    );
  },
  get WontFit() {
    return l10n.t(
      'Warm fewer folders, or mount again with a bigger --cache-max-size or with --cache-dir on a disk with more free space.',
    );
  },
  get AppMissing() {
    return l10n.t(
      'Create a .venv in the folder (python3 -m venv .venv) or put python3 on PATH, or fix the task\'s "command".',
    );
  },
  get Unknown() {
    return l10n.t("Run again with -v to see rclone's own output.");
  },
};

/**
 * Fixes that call sites wrote for the editor, said the CLI's way (a function of the match and the
 * context). Matched against the fix's English (englishOf), so a translated fix is recognised too.
 */
const CALL_SITES: [RegExp, (m: RegExpExecArray, ctx: Context) => string][] = [
  [
    /^Repair only cleans dead mounts/,
    () =>
      l10n.t(
        'Repair only cleans dead mounts; `rclone-devbox unmount <dir>` unmounts a live one (it waits for uploads).',
      ),
  ],
  [/^Unmount anyway only if/, () => l10n.t('Unmount with --force only if nothing was written to it recently.')],
  [/^Set "rclone\.configFile"/, () => l10n.t('Set RCLONE_CONFIG to the config file.')],
  // install.ts: no way to the download site, no archive for this OS
  [
    /^Check the network \(a proxy: HTTPS_PROXY, or VS Code's "http\.proxy"\), or download the release/,
    () =>
      l10n.t(
        'Check the network (a proxy: HTTPS_PROXY, NO_PROXY; a mirror: --base-url or RCLONE_DEVBOX_DOWNLOAD_URL), or download the release (rclone-v<version>-<os>-<cpu>.zip) from downloads.rclone.org on another machine and copy its rclone binary to <dir>/rclone (chmod +x): rclone-devbox uses it from there.',
      ),
  ],
  [
    /^Install rclone by hand \(rclone\.org\/install\), then set "rclone\.path" to it/,
    () => l10n.t('Install rclone by hand (rclone.org/install), then point RCLONE_DEVBOX_RCLONE at it.'),
  ],
  // prewarm.ts and link.ts: a dead mount, no mount at all
  [
    /^Repair the mount (?:first )?\((?:Rclone: )?Remount \/ Repair\)/,
    () => l10n.t('Clean the dead mount with `rclone-devbox repair <dir>`, mount it again, then try again.'),
  ],
  [
    /^Mount the bucket first \(Rclone: Mount…\), or choose a folder under a mount point/,
    () =>
      l10n.t(
        'Mount the bucket first (`rclone-devbox mount <remote:path> <dir>`), or choose a folder under a mount point (`rclone-devbox mounts` lists them).',
      ),
  ],
  [
    /^Warm fewer folders at once, or check the endpoint/,
    () =>
      l10n.t(
        "Warm fewer folders at once, or check the endpoint (the mount's log: `rclone-devbox mounts --json` names it).",
      ),
  ],
  [
    /^Switch it to a version first/,
    () =>
      l10n.t(
        'Point it at a version first (`rclone-devbox link <folder>`): each change remembers the target it replaced, and rollback returns to it.',
      ),
  ],
  // link.ts: a real folder or file where the link should be
  [
    /^Move it away yourself \(e\.g\. (mv .*?)\), or switch again .*? aside to (.+)\.backup-<date>-<time>/s,
    (m, ctx) =>
      ctx.command === 'rollback'
        ? l10n.t(
            'Move it away yourself (e.g. {0}), then roll back again; or point the link anew with `rclone-devbox link <folder> --move-aside`.',
            m[1]!,
          )
        : l10n.t(
            'Move it away yourself (e.g. {0}), or run again with --move-aside to move it to a named backup ({1}.backup-<date>-<time>; nothing is deleted).',
            m[1]!,
            m[2]!,
          ),
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

// ---- reading a translated text back into English ----

/** The bundle l10n.t translates with (set by cli.ts when the locale has one); undefined: English. */
let bundleFile: string | undefined;
/** Its translations, as the English sources they came from: read once, when first needed. */
let sources: Sources | undefined;

interface Sources {
  /** A translation without placeholders → its English. */
  exact: Map<string, string>;
  /** A translation with placeholders as a pattern, most specific (most fixed text) first. */
  patterns: { re: RegExp; key: string; groups: string[] }[];
}

/** Says which bundle `l10n.t` reads; nothing is read until an error's text needs it. */
export function readsBundle(file: string | undefined): void {
  bundleFile = file;
  sources = undefined;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

function loadSources(file: string): Sources {
  const exact = new Map<string, string>();
  const patterns: (Sources['patterns'][number] & { fixed: number })[] = [];
  let bundle: Record<string, string | { message: string }> = {};
  try {
    bundle = JSON.parse(readFileSync(file, 'utf8')) as typeof bundle;
  } catch {
    // no bundle (or a broken one): l10n.t speaks English then, and so does every text
  }
  for (const [key, value] of Object.entries(bundle)) {
    const said = typeof value === 'string' ? value : value.message;
    if (!said || said === key) continue;
    const parts = said.split(/\{(\d+)\}/); // text, placeholder number, text, …
    if (parts.length === 1) {
      if (!exact.has(said)) exact.set(said, key);
      continue;
    }
    const fixed = parts.filter((_, i) => i % 2 === 0).join('');
    if (fixed.replace(/\s/g, '').length < 6) continue; // "{0}：{1}" would read anything
    const groups: string[] = [];
    const re = parts
      .map((p, i) => {
        if (i % 2 === 0) return escape(p);
        if (groups.includes(p)) return `\\k<p${p}>`;
        groups.push(p);
        return `(?<p${p}>[\\s\\S]*?)`;
      })
      .join('');
    patterns.push({ re: new RegExp(`^${re}$`), key, groups, fixed: fixed.length });
  }
  patterns.sort((a, b) => b.fixed - a.fixed);
  return { exact, patterns };
}

/**
 * The English that `text` was translated from, with its placeholders' values put back; `text` itself
 * when it is English already or not a translation in the bundle. Only the error path pays for it.
 */
export function englishOf(text: string): string {
  if (!bundleFile || !text) return text;
  sources ??= loadSources(bundleFile);
  const exact = sources.exact.get(text);
  if (exact !== undefined) return exact;
  for (const { re, key, groups } of sources.patterns) {
    const m = re.exec(text);
    if (m) return key.replace(/\{(\d+)\}/g, (all, n: string) => (groups.includes(n) ? m.groups![`p${n}`]! : all));
  }
  return text;
}

// ---- what the CLI says ----

/** Core's fix (its English, and the text as shown) speaks of the editor's settings or commands. */
const speaksOfEditor = (english: string, shown: string) =>
  EDITOR_WORDS.test(english) || EDITOR_WORDS.test(shown) || EDITOR_WORDS_ZH.test(shown);

/**
 * The fix for a shell user: core's own unless it speaks of the editor. Decided on the fix's English
 * (a translated fix is read back first), or by identity with core's translated FIXES, never by
 * translated words; the CLI's replacement is then said in the user's language.
 */
export function cliFix(e: Pick<RcloneError, 'kind' | 'fix'>, ctx: Context = {}): string {
  const english = englishOf(e.fix);
  let fix: string | undefined; // the CLI's own advice, if core's is replaced
  for (const [site, said] of CALL_SITES) {
    const m = site.exec(english);
    if (!m) continue;
    fix = said(m, ctx);
    break;
  }
  const editorOnly = fix === undefined && speaksOfEditor(english, e.fix);
  if (fix === undefined && (e.fix === FIXES[e.kind] || editorOnly)) fix = CLI_FIXES[e.kind];
  if (e.kind === 'LinkInTheWay' && ctx.command === 'rollback' && fix === CLI_FIXES.LinkInTheWay)
    fix = l10n.t('Move it away yourself, then roll back again.');
  if (e.kind === 'RcloneMissing' && ctx.configured)
    fix = l10n.t(
      'Point RCLONE_DEVBOX_RCLONE at the rclone binary (an absolute path), or unset it to use rclone from PATH.',
    );
  // a call site's editor-only advice with no CLI counterpart: better none than a wrong one
  if (fix === undefined) fix = editorOnly ? '' : e.fix;
  return fix.replaceAll('<dir>', ctx.dir ?? '<dir>');
}

/** core's message with the mount profile's fields named as this CLI's flags (--cache-mode). */
export function cliMessage(message: string): string {
  const english = englishOf(message);
  if (english === message)
    return message.replace(/The mount profile's (\w+)/g, (all, field: string) => FLAGS[field] ?? all);
  // Translated: the field keeps its name; "the mount profile's" before it goes with it.
  let said = message;
  for (const [, field] of english.matchAll(/The mount profile's (\w+)/g)) {
    const flag = FLAGS[field!];
    if (flag) said = said.replace(new RegExp(`(?:挂载配置\\S{0,3}?\\s*)?(?<![\\w-])${field}\\b`), flag);
  }
  return said;
}

/** The text printed for an error: message, fix, and rclone's own lines only when verbose. */
export function describe(e: RcloneError, verbose: boolean, ctx: Context = {}): string {
  const fix = cliFix(e, ctx);
  const detail = verbose && e.detail ? `\n${e.detail}` : '';
  return `${cliMessage(e.message)}${fix ? `\n${fix}` : ''}${detail}\n`;
}
