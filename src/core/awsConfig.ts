// Short-lived credentials from a command the team already has (an STS broker script, a wrapped
// `aws sts assume-role`, a vault CLI) that prints them in the AWS `credential_process` format:
// {"Version": 1, "AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration"}.
// rclone's S3 backend renews such credentials itself: a remote with `env_auth = true` and
// `profile = <p>` reads `[profile <p>] credential_process = …` from the AWS config file
// (AWS_CONFIG_FILE, else ~/.aws/config) and runs the command again whenever they expire, inside a
// running mount too (checked on rclone 1.60). So the command goes into that file, in a profile of
// ours, edited line by line like rclone.conf (other profiles and comments stay as they were), and
// its output only ever lives in rclone's memory, and in ours for the one try when it is set.
// `credential_process` is a shell command line by definition (the AWS SDK runs it with `sh -c`):
// we run it the same way, with an argument array.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import * as l10n from '@vscode/l10n';
import { Child } from './child';
import { removeRemote as removeSection, upsertRemote as upsertSection } from './confText';
import { RcloneError } from './errors';
import { linkTarget, writeAtomically } from './files';
import { lockedEdit } from './lock';

/** The AWS config file the SDK inside rclone reads. */
export const awsConfigFile = (env: NodeJS.ProcessEnv): string =>
  env.AWS_CONFIG_FILE || join(env.HOME || homedir(), '.aws', 'config');

/** Our profile for remote `name`: readable, and unique even for names that differ only in characters a profile cannot hold. */
export function profileFor(name: string): string {
  const plain = name.replace(/[^A-Za-z0-9_-]/g, '-');
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 6);
  return plain === name ? `rclone-devbox-${name}` : `rclone-devbox-${plain}-${hash}`;
}

/** Profiles of ours are the only ones we ever change or remove. */
export const isOurProfile = (profile: string | undefined): boolean => !!profile?.startsWith('rclone-devbox-');

const section = (profile: string) => `profile ${profile}`;

/** Sets (or replaces) the credentials command of `profile`; every other line of the file is kept. */
export async function setCredentialProcess(env: NodeJS.ProcessEnv, profile: string, command: string): Promise<void> {
  await editAwsConfig(env, (text) => upsertSection(text, section(profile), { credential_process: command.trim() }));
}

/** Removes `profile` (ours only) from the AWS config file; nothing else changes. */
export async function removeProfile(env: NodeJS.ProcessEnv, profile: string): Promise<void> {
  if (!isOurProfile(profile)) return;
  await editAwsConfig(env, (text) => removeSection(text, section(profile)));
}

/** The credentials command of `profile`, if the AWS config file has one. */
export async function credentialProcessOf(env: NodeJS.ProcessEnv, profile: string): Promise<string | undefined> {
  const text = await readFile(awsConfigFile(env), 'utf8').catch(() => '');
  let inside = false;
  for (const line of text.split(/\r?\n/)) {
    const header = /^\s*\[([^\]]+)\]\s*$/.exec(line);
    if (header) inside = header[1]!.trim() === section(profile);
    else if (inside) {
      const m = /^\s*credential_process\s*=\s*(.*?)\s*$/.exec(line);
      if (m) return m[1];
    }
  }
  return undefined;
}

async function editAwsConfig(env: NodeJS.ProcessEnv, change: (text: string) => string): Promise<void> {
  const target = await linkTarget(awsConfigFile(env));
  // Two windows or the CLI adding credentials commands at once take turns, as for rclone.conf.
  const fix = (dir: string) =>
    l10n.t('Make {0} writable for this user, or set AWS_CONFIG_FILE to a file in a folder you can write.', dir);
  await lockedEdit(
    target,
    async () => {
      const before = await readFile(target, 'utf8').catch((e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT') return '';
        throw e;
      });
      const after = change(before);
      if (after !== before) await writeAtomically(target, after);
    },
    fix,
  );
}

export interface Credentials {
  /** When they run out (undefined: they do not say, i.e. long-lived). */
  expires?: Date;
}

/**
 * Runs the command once, as the SDK will, and checks what it prints. Returns only when they run
 * out: the keys themselves are dropped here, never logged, never returned. A failure says what is
 * wrong without repeating anything the command printed (it may hold secrets).
 */
export async function tryCredentialProcess(
  command: string,
  env: NodeJS.ProcessEnv,
  opts: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<Credentials> {
  const plain: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) plain[k] = v;
  const child = new Child('/bin/sh', ['-c', command], {
    env: plain,
    timeoutMs: opts.timeoutMs ?? 30_000,
    signal: opts.signal,
    collect: true,
    maxBuffer: 64 * 1024,
  });
  const r = await child.result;
  const fail = (why: string) =>
    new RcloneError('AuthFailed', l10n.t('The credentials command failed: {0}', why), {
      fix: l10n.t(
        'Run it in a terminal: it must print JSON with Version 1, AccessKeyId, SecretAccessKey and, for temporary credentials, SessionToken and Expiration.',
      ),
    });
  if (r.isCanceled) throw new RcloneError('Cancelled', l10n.t('Trying the credentials command was cancelled.'));
  if (r.timedOut) throw fail(l10n.t('no answer within {0} s.', Math.round((opts.timeoutMs ?? 30_000) / 1000)));
  // Neither its output nor its errors are repeated: either may hold a secret.
  if (r.failed) throw fail(r.exitCode === undefined ? (r.code ?? 'a signal') : l10n.t('exit code {0}', r.exitCode));
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(r.stdout) as Record<string, unknown>;
  } catch {
    throw fail(l10n.t('it did not print JSON.'));
  }
  const missing = ['AccessKeyId', 'SecretAccessKey'].filter((k) => typeof parsed[k] !== 'string' || !parsed[k]);
  if (parsed.Version !== 1) missing.unshift('Version: 1');
  if (missing.length) throw fail(l10n.t('its JSON lacks {0}.', missing.join(', ')));
  if (parsed.Expiration === undefined) return {};
  const expires = new Date(String(parsed.Expiration));
  if (Number.isNaN(expires.getTime())) throw fail(l10n.t('its Expiration is not a date.'));
  if (expires.getTime() <= Date.now()) throw fail(l10n.t('the credentials it printed have already expired.'));
  return { expires };
}
