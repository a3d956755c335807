// The CLI's command line: which commands take which arguments and options, and a message naming
// the one thing that is wrong (a missing <dir>, a bad --timeout) with that command's usage line,
// rather than the whole help text.
import { parseArgs } from 'node:util';
import * as l10n from '@vscode/l10n';

interface Spec {
  args: readonly string[];
  /** Arguments that may follow the required ones. */
  optional?: readonly string[];
  options: readonly string[];
  usage: string;
  about: string;
}

export const COMMANDS = {
  remotes: {
    args: [],
    options: [],
    usage: 'remotes',
    get about() {
      return l10n.t('list remotes (type, provider, endpoint; never secrets)');
    },
  },
  ls: {
    args: ['<remote:path>'],
    options: ['limit'],
    usage: 'ls <remote:path> [--limit N]',
    get about() {
      return l10n.t('list a folder, streamed (folders end with /)');
    },
  },
  permissions: {
    args: ['<remote:bucket[/path]>'],
    options: ['json'],
    usage: 'permissions <remote:bucket[/path]> [--json]',
    get about() {
      return l10n.t(
        "try list, read, write and delete there with the remote's credentials (a scratch object, removed again);\n        exit status 0: all allowed, 1: something is not",
      );
    },
  },
  mounts: {
    args: [],
    options: ['json'],
    usage: 'mounts [--json]',
    get about() {
      return l10n.t('rclone mounts on this box and their state');
    },
  },
  mount: {
    args: ['<remote:path>', '<dir>'],
    options: ['cache-mode', 'cache-dir', 'cache-max-size', 'allow-other', 'allow-non-empty', 'timeout'],
    usage:
      'mount <remote:path> <dir> [--cache-mode writes|full] [--cache-dir D] [--cache-max-size 20G]\n' +
      '        [--allow-other] [--allow-non-empty] [--timeout 30s]',
    get about() {
      return l10n.t('mount and return once it is ready');
    },
  },
  unmount: {
    args: ['<dir>'],
    options: ['wait', 'force'],
    usage: 'unmount <dir> [--wait 10m] [--force]',
    get about() {
      return l10n.t('unmount once pending uploads are done');
    },
  },
  repair: {
    args: ['<dir>'],
    options: [],
    usage: 'repair <dir>',
    get about() {
      return l10n.t('clean a dead mount ("Transport endpoint is not connected")');
    },
  },
  prewarm: {
    args: ['<dir>'],
    options: ['content', 'json'],
    usage: 'prewarm <dir|mountpoint> [--content] [--json]',
    get about() {
      return l10n.t(
        "fill the mount's directory cache for <dir> (--content: its files too, on a --cache-mode full mount)",
      );
    },
  },
  versions: {
    args: [],
    optional: ['<mountpoint>'],
    options: ['pattern', 'as', 'json'],
    usage: "versions [<mountpoint>|<copy root>] [--pattern 'cache_hub*'] [--as ./cache_hub] [--json]",
    get about() {
      return l10n.t(
        "folders matching the pattern, in natural order; * marks the one the --as link points at;\n        without a folder: this folder's versions in copy mode, copied (size) or only in the bucket",
      );
    },
  },
  link: {
    args: ['<target>'],
    options: ['as', 'move-aside'],
    usage: 'link <target> [--as ./cache_hub] [--move-aside]',
    get about() {
      return l10n.t(
        "point the --as symlink at <target> (a folder on a mount, or a whole local copy), atomically;\n        remembered for rollback; in copy mode <target> may be a version's name, copied first if only in the bucket",
      );
    },
  },
  rollback: {
    args: [],
    options: ['as'],
    usage: 'rollback [--as ./cache_hub]',
    get about() {
      return l10n.t('point the --as symlink back at the target it had before');
    },
  },
  setup: {
    args: [],
    options: ['config', 'yes'],
    usage: 'setup [--config FILE] [--yes]',
    get about() {
      return l10n.t(
        "add the remotes this folder's team profile (.vscode/rclone-devbox.json) names and rclone's config lacks:\n        asks only for their secrets (stdin: one per line); --yes allows the profile's credentials commands",
      );
    },
  },
  up: {
    args: [],
    options: ['profile', 'task', 'no-app', 'config', 'timeout'],
    usage: 'up [--profile P | --task NAME] [--no-app] [--config FILE] [--timeout 5m]',
    get about() {
      return l10n.t(
        "mount, warm and link as this folder's .vscode/tasks.json and settings.json say, then run the app until it\n        ends (Ctrl-C stops it, the mount stays); --no-app returns once storage is ready (systemd)",
      );
    },
  },
  copies: {
    args: [],
    options: ['remove', 'json', 'config'],
    usage: 'copies [--remove NAME] [--json] [--config FILE]',
    get about() {
      return l10n.t(
        "this folder's local copies (copy mode) and their sizes; * marks the linked one, partial the cut-off ones;\n        --remove NAME removes one (never one a link points at)",
      );
    },
  },
  upload: {
    args: [],
    options: ['task', 'config', 'timeout'],
    usage: 'upload [--task NAME] [--config FILE] [--timeout 10m]',
    get about() {
      return l10n.t(
        "copy mode: upload what the app wrote to the task's outputs now (bounded by --timeout, default 10m);\n        exit status 1 when some files are left",
      );
    },
  },
  status: {
    args: [],
    options: ['json', 'config'],
    usage: 'status [--json] [--config FILE]',
    get about() {
      return l10n.t("mounts, uploads, cache use, this folder's links, local copies and its app");
    },
  },
  doctor: {
    args: [],
    options: ['config', 'check-updates'],
    usage: 'doctor [--config FILE] [--check-updates]',
    get about() {
      return l10n.t(
        'check rclone, FUSE or copy mode, the config, credentials, endpoints, disk, outputs and the app port;\n        exit status = problems',
      );
    },
  },
  'install-rclone': {
    args: [],
    options: ['rclone-version', 'base-url'],
    usage: 'install-rclone [--version 1.68.2] [--base-url URL]',
    get about() {
      return l10n.t(
        "download rclone (default: the newest) from downloads.rclone.org (or --base-url, RCLONE_DEVBOX_DOWNLOAD_URL),\n        check it against the release's SHA256SUMS and put it in ~/.local/share/rclone-devbox/bin (no sudo)",
      );
    },
  },
} satisfies Record<string, Spec>;

export type Command = keyof typeof COMMANDS;

const OPTIONS = {
  limit: { type: 'string' },
  json: { type: 'boolean' },
  'cache-mode': { type: 'string' },
  'cache-dir': { type: 'string' },
  'cache-max-size': { type: 'string' },
  'allow-other': { type: 'boolean' },
  'allow-non-empty': { type: 'boolean' },
  timeout: { type: 'string' },
  wait: { type: 'string' },
  force: { type: 'boolean' },
  content: { type: 'boolean' },
  pattern: { type: 'string' },
  as: { type: 'string' },
  'move-aside': { type: 'boolean' },
  remove: { type: 'string' },
  profile: { type: 'string' },
  task: { type: 'string' },
  'no-app': { type: 'boolean' },
  config: { type: 'string' },
  yes: { type: 'boolean', short: 'y' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
  /** install-rclone's --version X (rewritten from --version, which alone is the global flag). */
  'rclone-version': { type: 'string' },
  'base-url': { type: 'string' },
  'check-updates': { type: 'boolean' },
  verbose: { type: 'boolean', short: 'v' },
} as const;
const GLOBAL = new Set(['help', 'version', 'verbose']);

export const usage = (): string =>
  [
    l10n.t('usage: rclone-devbox <command> [-v] …'),
    ...Object.values(COMMANDS).map((c) => `  ${c.usage}\n        ${c.about}`),
    `  --version                          ${l10n.t("this tool's version and the rclone it uses")}`,
    '',
    l10n.t(
      "Durations: 30s, 10m, 1h30m or plain seconds. -v (or RCLONE_DEVBOX_VERBOSE=1): rclone's own output on errors.",
    ),
    l10n.t(
      'Where PATH has no rclone, or one older than 1.60, the one `install-rclone` put in ~/.local/share/rclone-devbox/bin is used.',
    ),
    l10n.t(
      "rclone is found on PATH (or RCLONE_DEVBOX_RCLONE); rclone's config file is used (RCLONE_CONFIG is honoured).",
    ),
  ].join('\n');

/** A command line that cannot be run: exit status 2, the message and the command's usage line. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** "Usage: rclone-devbox <the command's usage>" (the usage itself is syntax: never translated). */
export const usageOf = (command: Command): string => l10n.t('Usage: rclone-devbox {0}', COMMANDS[command].usage);
const refuse = (command: Command | undefined, what: string) =>
  new UsageError(
    command ? l10n.t('{0}: {1}. {2}', command, what, usageOf(command)) : l10n.t('{0}. Run rclone-devbox --help.', what),
  );

export type Options = { [K in keyof typeof OPTIONS]?: (typeof OPTIONS)[K]['type'] extends 'string' ? string : boolean };

/** Option values read and checked: every mistake is refused before anything runs. */
export interface Values {
  limit?: number;
  timeoutMs?: number;
  waitMs?: number;
  cacheMode?: (typeof CACHE_MODES)[number];
  /** --pattern: a folder-name glob (* and ?). */
  pattern?: string;
  /** --as: the symlink, as given (resolved against the current folder when used). */
  link?: string;
}

/** Where `link`, `rollback` and `versions` look for the symlink when no --as is given. */
export const DEFAULT_LINK = './cache_hub';

export interface Parsed {
  command?: Command;
  args: string[];
  o: Options;
  v: Values;
}

const CACHE_MODES = ['off', 'minimal', 'writes', 'full'] as const;

export function parse(argv: string[]): Parsed {
  let parsed: { values: Options; positionals: string[] };
  argv = installVersion(argv);
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, strict: true, options: OPTIONS });
  } catch (e) {
    throw refuse(commandIn(argv), explainParseError(e as Error & { code?: string }, argv));
  }
  const [name, ...args] = parsed.positionals;
  const o = parsed.values;
  if (name === undefined) return { args, o, v: {} };
  if (name === 'help') return { args, o: { ...o, help: true }, v: {} };
  if (!Object.hasOwn(COMMANDS, name)) {
    throw refuse(undefined, l10n.t`unknown command "${name}" (commands: ${Object.keys(COMMANDS).join(', ')})`);
  }
  const command = name as Command;
  if (o.help) return { command, args, o, v: {} };
  const spec: Spec = COMMANDS[command];
  for (const key of Object.keys(o)) {
    if (!GLOBAL.has(key) && !spec.options.includes(key))
      throw refuse(command, l10n.t`--${key} is not an option of ${command}`);
  }
  if (args.length < spec.args.length) throw refuse(command, l10n.t`missing ${spec.args[args.length]!}`);
  const most = spec.args.length + (spec.optional?.length ?? 0);
  if (args.length > most) throw refuse(command, l10n.t`unexpected argument "${args[most]!}"`);
  if (o.remove !== undefined && (!o.remove.trim() || o.remove.startsWith('-')))
    throw refuse(command, l10n.t('--remove needs the name of a local version, e.g. --remove cache_hub_v23'));
  const mode = o['cache-mode'];
  if (mode !== undefined && !(CACHE_MODES as readonly string[]).includes(mode))
    throw refuse(command, l10n.t`--cache-mode "${mode}" is not one of ${CACHE_MODES.join(', ')}`);
  const wanted = o['rclone-version'];
  if (wanted !== undefined && !/^v?\d+\.\d+\.\d+$/.test(wanted))
    throw refuse(command, l10n.t`--version "${wanted}" is not an rclone version (e.g. 1.68.2)`);
  const base = o['base-url'];
  if (base !== undefined && !/^https?:\/\/[^/\s]+/.test(base))
    throw refuse(command, l10n.t`--base-url "${base}" is not an http(s) URL (e.g. https://downloads.rclone.org)`);
  if (command === 'permissions' && !/^[^:/]+:[^/]/.test(args[0]!))
    throw refuse(command, l10n.t`"${args[0]!}" names no bucket: give remote:bucket or remote:bucket/path`);
  const v: Values = {
    limit: count(command, 'limit', o.limit),
    timeoutMs: duration(command, 'timeout', o.timeout),
    waitMs: duration(command, 'wait', o.wait, 0),
    cacheMode: mode as Values['cacheMode'],
    pattern: pattern(command, o.pattern),
    link: linkPath(command, o.as),
  };
  return { command, args, o, v };
}

/**
 * install-rclone's `--version 1.68.2` (or `--version=1.68.2`) as --rclone-version: alone, --version
 * is the global flag (this tool's version and its rclone's), which takes no value.
 */
function installVersion(argv: string[]): string[] {
  if (commandIn(argv) !== 'install-rclone') return argv;
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = argv[i + 1];
    if (a.startsWith('--version=')) out.push(`--rclone-version=${a.slice('--version='.length)}`);
    else if (a === '--version' && next !== undefined && !next.startsWith('-')) {
      out.push(`--rclone-version=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

/** The first word that names a command, so an option error can still show that command's usage. */
function commandIn(argv: string[]): Command | undefined {
  return argv.find((a): a is Command => Object.hasOwn(COMMANDS, a));
}

function explainParseError(e: Error & { code?: string }, argv: string[]): string {
  const option = /'(-{1,2}[^' ]+)/.exec(e.message)?.[1];
  if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION')
    return option ? l10n.t`unknown option ${option}` : l10n.t('unknown option');
  if (e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && option) {
    const at = argv.indexOf(option);
    const next = at < 0 ? undefined : argv[at + 1];
    // parseArgs will not take "-1" as a value (it looks like an option): say what the value must be.
    if (next?.startsWith('-') && next.length > 1) return l10n.t`${option} needs a value, not "${next}"`;
    if (OPTIONS[option.replace(/^-+/, '') as keyof typeof OPTIONS]?.type === 'boolean')
      return l10n.t`${option} takes no value`;
    return l10n.t`${option} needs a value`;
  }
  return e.message.split('\n')[0]!;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/**
 * A duration as rclone writes them (30s, 10m, 1h30m, 500ms) or plain seconds ("90", "2.5"), in
 * milliseconds. Anything else is refused: a value read as NaN would make a timeout that never fires.
 */
export function duration(command: Command, flag: string, text: string | undefined, min = 1): number | undefined {
  if (text === undefined) return undefined;
  const t = text.trim();
  let ms: number | undefined;
  if (/^\d+(?:\.\d+)?$/.test(t)) ms = Number(t) * 1_000;
  else if (/^(?:\d+(?:\.\d+)?(?:ms|s|m|h))+$/.test(t)) {
    ms = 0;
    for (const [, n, unit] of t.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) ms += Number(n) * UNIT_MS[unit!]!;
  }
  if (ms === undefined || !Number.isFinite(ms))
    throw refuse(command, l10n.t`--${flag} "${text}" is not a duration (e.g. 30s, 10m, 1h30m, or plain seconds)`);
  if (ms < min)
    throw refuse(
      command,
      min > 0
        ? l10n.t`--${flag} must be more than 0, not "${text}"`
        : l10n.t`--${flag} must be 0 or more, not "${text}"`,
    );
  return Math.round(ms);
}

/** A glob matched against folder names directly in the mount point: not empty, no "/". */
function pattern(command: Command, text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  if (!text.trim()) throw refuse(command, l10n.t('--pattern needs a glob, e.g. --pattern "cache_hub*"'));
  if (text.includes('/'))
    throw refuse(command, l10n.t`--pattern "${text}" matches folder names, without "/" (e.g. --pattern "cache_hub*")`);
  return text;
}

/** The symlink's path: not empty, and not a folder spelling ("x/" would name what it points at). */
function linkPath(command: Command, text: string | undefined): string {
  if (text === undefined) return DEFAULT_LINK;
  if (!text.trim()) throw refuse(command, l10n.t('--as needs the path of the link, e.g. --as ./cache_hub'));
  if (/\/\.?$/.test(text) || /(?:^|\/)\.\.?$/.test(text))
    throw refuse(command, l10n.t`--as "${text}" names a folder; give the link itself, e.g. --as ./cache_hub`);
  return text;
}

/** A whole number of at least 1 (e.g. --limit). */
function count(command: Command, flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text.trim()) || Number(text) < 1)
    throw refuse(command, l10n.t`--${flag} "${text}" is not a whole number of 1 or more`);
  return Number(text);
}
