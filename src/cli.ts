// The headless entry point over core/, for boot scripts and containers where no editor is
// attached. Built as dist/cli-main.js; the command, dist/cli.js, is cliStart.ts, which runs it
// with V8's code cache. A run lasts a fraction of a second, so start-up and exit are part of its
// speed: the rclone version is cached (Rclone.locate's versionCache), the mount, prewarm and link
// commands' code is loaded only when one runs, and the process exits as soon as its work is done.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as l10n from '@vscode/l10n';
import { COMMANDS, parse, type Parsed, usage, usageOf } from './cli/args';
import { type Context, describe, readsBundle } from './cli/fixes';
import { installedRclone } from './cli/installRclone';
import { listsInPages, listTarget } from './cli/ls';
import { defaultCacheDir } from './core/cache';
import { isRcloneError } from './core/errors';
import { bundleLocale, useLocale } from './core/locale';
import type { Logger } from './core/events';
import { Rclone } from './core/rclone';

const env = process.env;
const l10nDir = join(__dirname, '..', 'l10n');
useLocale(env, l10nDir); // LANG=zh_CN.UTF-8: messages in Chinese
const locale = bundleLocale(env);
// The same bundle, read (only on an error) to recognise a translated fix by its English (fixes.ts).
if (locale) readsBundle(join(l10nDir, `bundle.l10n.${locale}.json`));
let verbose = env.RCLONE_DEVBOX_VERBOSE === '1';
const err = (line: string) => process.stderr.write(`${line}\n`);
const out = (line: string) => process.stdout.write(`${line}\n`);
const log: Logger = {
  info: (m) => verbose && err(m),
  warn: (m) => err(`warning: ${m}`),
  error: (m) => err(`error: ${m}`),
};

const ac = new AbortController();
const signalled = (code: number) => () => ((exitCode = code), ac.abort());
let exitCode = 0;
process.once('SIGINT', signalled(130));
process.once('SIGTERM', signalled(143));
// A reader that has what it wanted (`… | head -3`) closes the pipe: stop rclone and leave quietly,
// with status 0. A SIGPIPE death (141) would fail a `set -o pipefail` boot script for a listing
// that went well, and whether it happens at all would depend on how much was left to print.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  ac.abort();
  process.exit(e.code === 'EPIPE' ? 0 : 1);
});
process.stderr.on('error', () => undefined);

/** What an error's fix may name: the command, its mount point (filled in as the command learns it). */
const ctx: Context = { configured: !!env.RCLONE_DEVBOX_RCLONE };

/** RCLONE_DEVBOX_RCLONE, else PATH's rclone, else (none there, or older than 1.60) the one install-rclone put in place. */
const locate = () =>
  Rclone.locate({
    path: env.RCLONE_DEVBOX_RCLONE,
    fallback: installedRclone(env),
    log,
    signal: ac.signal,
    versionCache: defaultCacheDir(env),
  });

function ownVersion(): string {
  try {
    return (JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

async function main({ command, args, o, v }: Parsed): Promise<number> {
  verbose ||= o.verbose === true;
  if (o.version) {
    out(`rclone-devbox ${ownVersion()}`);
    const rclone = await locate();
    out(`rclone ${rclone.version.text} (${rclone.path})`);
    return 0;
  }
  if (o.help) {
    out(command ? `${usageOf(command)}\n  ${COMMANDS[command].about}` : usage());
    return 0;
  }
  if (!command) {
    err(usage());
    return 2;
  }
  if (command === 'ls') {
    const rclone = await locate();
    const target = args[0]!;
    const listR = await listsInPages(rclone, target, defaultCacheDir(env), ac.signal);
    const page = await listTarget(rclone, target, {
      limit: v.limit,
      listR,
      signal: ac.signal,
      onEntry: (e) => out(e.isDir ? `${e.name}/\t-` : `${e.name}\t${e.size}`),
    });
    if (page.more) err(l10n.t`… more entries after the first ${page.entries.length}`);
    return 0;
  }
  ctx.command = command;
  if (command === 'mount') ctx.dir = args[1];
  if (command === 'unmount' || command === 'repair' || command === 'versions') ctx.dir = args[0];
  // prewarm and the link commands learn their mount as they go (io.context); none of them runs rclone.
  const io = {
    out,
    err,
    log,
    signal: ac.signal,
    context: ctx,
    status: process.stderr.isTTY ? (line: string) => process.stderr.write(`\r\x1b[K${line}`) : undefined,
  };
  if (command === 'prewarm') {
    const { warmCommand } = await import('./cli/warm');
    return warmCommand(args, o, locate, io);
  }
  if (command === 'versions' || command === 'link' || command === 'rollback') {
    const { linkCommand } = await import('./cli/links');
    return linkCommand(command, args, o, v, locate, io);
  }
  if (command === 'up') {
    const { upCommand } = await import('./cli/up');
    return upCommand(o, v, locate, io);
  }
  if (command === 'copies' || command === 'upload') {
    const { copiesCommand, uploadCommand } = await import('./cli/copies');
    return command === 'copies' ? copiesCommand(o, locate, io) : uploadCommand(o, v, locate, io);
  }
  if (command === 'status') {
    const { statusCommand } = await import('./cli/status');
    return statusCommand(o, locate, io);
  }
  if (command === 'permissions') {
    const { permissionsCommand } = await import('./cli/permissions');
    return permissionsCommand(args[0]!, o, locate, io);
  }
  if (command === 'setup') {
    const { setupCommand } = await import('./cli/setup');
    return setupCommand(o, locate, io);
  }
  if (command === 'install-rclone') {
    const { installCommand } = await import('./cli/installRclone');
    return installCommand(o, locate, io);
  }
  if (command === 'doctor') {
    const { doctorCommand } = await import('./cli/doctor');
    return doctorCommand(o, locate, io);
  }
  const rclone = await locate();
  if (command === 'remotes') {
    const { RcloneConfig } = await import('./core/config');
    const config = await RcloneConfig.open(rclone, ac.signal);
    const remotes = await config.remotes(ac.signal);
    for (const r of remotes) out([r.name, r.type, r.provider ?? '', r.endpoint ?? '', r.source].join('\t'));
    if (!remotes.length)
      err(
        l10n.t`No remotes in ${config.path}, nor in RCLONE_CONFIG_<NAME>_TYPE variables. Add one with \`rclone config\`.`,
      );
    return 0;
  }
  const { mountCommand } = await import('./cli/mounts');
  return mountCommand(command, args, o, v, rclone, io);
}

/** The command line, or exit status 2 with what is wrong with it (nothing has run yet). */
function parseOrExit(argv: string[]): Parsed {
  try {
    return parse(argv);
  } catch (e) {
    err((e as Error).message);
    return process.exit(2);
  }
}

const parsed = parseOrExit(process.argv.slice(2));
main(parsed).then(
  (code) => process.exit(exitCode || code),
  (e: unknown) => {
    if (isRcloneError(e)) process.stderr.write(describe(e, verbose, ctx));
    else if (e instanceof Error) err(verbose ? (e.stack ?? e.message) : e.message);
    else err(String(e));
    process.exit(exitCode || 1);
  },
);
