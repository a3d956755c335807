// `rclone-devbox install-rclone`: rclone's release for this OS and CPU, downloaded, checked against
// its SHA256SUMS and put in the user's own folder (~/.local/share/rclone-devbox/bin, or under
// $XDG_DATA_HOME), without sudo. An rclone elsewhere (PATH, /usr/bin) is never replaced or removed:
// the CLI uses ours where PATH has none, or one older than 1.60 (Rclone.locate's fallback).
// core/install.ts (https, tls, zlib) is loaded only when this command or `doctor --check-updates`
// runs: every other command needs only installDir.
import { existsSync } from 'node:fs';
import { readdir, rmdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import * as l10n from '@vscode/l10n';
import { formatBytes } from '../core/files';
import type { Rclone } from '../core/rclone';
import type { Options } from './args';
import type { Io } from './mounts';

/** Where install-rclone puts rclone: $XDG_DATA_HOME/rclone-devbox/bin, or ~/.local/share/rclone-devbox/bin. */
export const installDir = (env: NodeJS.ProcessEnv = process.env): string =>
  join(env.XDG_DATA_HOME || join(env.HOME || '/tmp', '.local', 'share'), 'rclone-devbox', 'bin');

/** The rclone install-rclone puts there: the CLI's fallback. */
export const installedRclone = (env: NodeJS.ProcessEnv = process.env): string => join(installDir(env), 'rclone');

/** The download site: --base-url, else RCLONE_DEVBOX_DOWNLOAD_URL, else rclone's own. */
export async function baseUrl(o: Options, env: NodeJS.ProcessEnv): Promise<string> {
  const { DEFAULT_BASE_URL } = await import('../core/install');
  return o['base-url'] || env.RCLONE_DEVBOX_DOWNLOAD_URL || DEFAULT_BASE_URL;
}

export type Source = 'RCLONE_DEVBOX_RCLONE' | 'installed' | 'PATH';

/** Where the rclone the CLI uses came from. */
export function sourceOf(path: string, env: NodeJS.ProcessEnv): Source {
  if (env.RCLONE_DEVBOX_RCLONE) return 'RCLONE_DEVBOX_RCLONE';
  return path === installedRclone(env) ? 'installed' : 'PATH';
}

/** "(PATH)", "(installed by rclone-devbox)", "(RCLONE_DEVBOX_RCLONE)". */
export const sourceText = (source: Source): string =>
  source === 'installed' ? l10n.t('installed by rclone-devbox') : source;

/** "1.68.2" from "v1.68.2" or "v1.68.2-DEV". */
export const plainVersion = (r: Rclone): string => `${r.version.major}.${r.version.minor}.${r.version.patch}`;

export async function installCommand(o: Options, locate: () => Promise<Rclone>, io: Io): Promise<number> {
  const env = process.env;
  const { installRclone, latestVersion } = await import('../core/install');
  const dir = installDir(env);
  io.context.dir = dir; // the fix for an unreachable site names it
  const base = await baseUrl(o, env);
  const opts = { signal: io.signal, proxyEnv: env };
  // The folders this run creates, removed again (when empty) if it fails: nothing is left.
  let made: string | undefined;
  for (let d = dir; !existsSync(d); d = dirname(d)) made = d;
  try {
    io.status?.(l10n.t`asking ${base} for the newest rclone…`);
    const version = o['rclone-version']?.replace(/^v/, '') ?? (await latestVersion(base, opts));
    const status = io.status;
    const r = await installRclone({
      ...opts,
      base,
      version,
      dir,
      onProgress:
        status &&
        ((bytes, total) =>
          status(
            total
              ? l10n.t`downloading rclone ${version}: ${formatBytes(bytes)} of ${formatBytes(total)}`
              : l10n.t`downloading rclone ${version}: ${formatBytes(bytes)}`,
          )),
    });
    status?.(''); // the progress line goes: what follows starts on a clean line
    io.out(l10n.t`installed rclone ${r.version} in ${r.path} (${formatBytes(r.downloaded)} downloaded)`);
    // Which rclone the CLI uses from now on: ours, unless PATH (or RCLONE_DEVBOX_RCLONE) has a usable one.
    const used = await locate().catch(() => undefined);
    if (used && used.path !== r.path)
      io.err(
        l10n.t`note: rclone-devbox keeps using rclone ${plainVersion(used)} at ${used.path} (${sourceText(sourceOf(used.path, env))}); ${r.path} is used when PATH has no rclone, or one older than 1.60.`,
      );
    return 0;
  } catch (e) {
    io.status?.('');
    if (made) await removeEmpty(dir, made);
    throw e;
  }
}

/** Removes `dir` and its parents up to `top` while they are empty (a failed first install leaves no folder). */
async function removeEmpty(dir: string, top: string): Promise<void> {
  for (let d = dir; ; d = dirname(d)) {
    const empty = await readdir(d).then(
      (names) => names.length === 0,
      () => false,
    );
    if (
      !empty ||
      !(await rmdir(d).then(
        () => true,
        () => false,
      ))
    )
      return;
    if (d === top) return;
  }
}

/**
 * doctor --check-updates: the site's newest version against the rclone used. An info line when it
 * answers, a warning when it does not (never a problem: the box works with the rclone it has).
 */
export async function updateLine(
  rclone: Rclone,
  o: Options,
  signal: AbortSignal,
): Promise<{ mark: '--' | 'WARN'; text: string }> {
  const env = process.env;
  const { latestVersion } = await import('../core/install');
  const base = await baseUrl(o, env);
  let latest: string;
  try {
    latest = await latestVersion(base, { signal, proxyEnv: env, idleMs: 10_000 });
  } catch (e) {
    const why = e instanceof Error ? e.message.replace(/[.。]$/, '') : String(e);
    return {
      mark: 'WARN',
      text: l10n.t`rclone updates: ${why} — check the network (HTTPS_PROXY), or RCLONE_DEVBOX_DOWNLOAD_URL`,
    };
  }
  const have = plainVersion(rclone);
  const [a, b] = [latest, have].map((v) => v.split('.').map(Number) as [number, number, number]);
  const newer = a![0] !== b![0] ? a![0] > b![0] : a![1] !== b![1] ? a![1] > b![1] : a![2] > b![2];
  if (!newer) return { mark: '--', text: l10n.t`rclone ${have} is the newest (${base}/version.txt)` };
  const source = sourceOf(rclone.path, env);
  return {
    mark: '--',
    text:
      source === 'installed'
        ? l10n.t`a newer rclone is available: ${latest} (this one: ${have}); \`rclone-devbox install-rclone\` updates it`
        : l10n.t(
            'a newer rclone is available: {0} (this one: {1}, {2}); `rclone-devbox install-rclone` puts it in {3} (point RCLONE_DEVBOX_RCLONE at {4} to use it)',
            latest,
            have,
            sourceText(source),
            installDir(env),
            installedRclone(env),
          ),
  };
}
