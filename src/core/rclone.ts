// The rclone binary: where it is, which version, and how to run it safely. Every call gets a
// controlled environment, an explicit timeout, bounded retries and an AbortSignal that kills the
// child. Failures come back as classified RcloneErrors, never as raw process errors.
import { spawn } from 'node:child_process';
import { accessSync, closeSync, constants, openSync, statSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import * as l10n from '@vscode/l10n';
import { fileKey, readCache, writeCache } from './cache';
import { Child, type ChildResult } from './child';
import { classify, RcloneError } from './errors';
import { type Logger, silentLogger } from './events';
import { isExecutableFile, onPath } from './processes';

export interface Version {
  major: number;
  minor: number;
  patch: number;
  /** As rclone prints it, e.g. "v1.60.1-DEV". */
  text: string;
}

const MIN_VERSION = { major: 1, minor: 60, patch: 0 } as const;

/** rclone 1.69 moved the S3 backend to AWS SDK v2, which honours AWS_CA_BUNDLE instead of failing with "unsupported transport". */
const AWS_CA_BUNDLE_WORKS = { major: 1, minor: 69, patch: 0 } as const;

type V = Pick<Version, 'major' | 'minor' | 'patch'>;
export const atLeast = (v: V, min: V): boolean =>
  v.major !== min.major ? v.major > min.major : v.minor !== min.minor ? v.minor > min.minor : v.patch >= min.patch;

export function parseVersion(output: string): Version | undefined {
  const m = /^rclone\s+(v?(\d+)\.(\d+)(?:\.(\d+))?\S*)/m.exec(output);
  if (!m) return undefined;
  return { text: m[1]!, major: Number(m[2]), minor: Number(m[3]), patch: Number(m[4] ?? 0) };
}

const versionString = (v: V) => `${v.major}.${v.minor}.${v.patch}`;

export type Env = Record<string, string>;

/**
 * The environment rclone runs with: the parent's, minus what is known to break it.
 * rclone before 1.69 (AWS SDK v1) fails every S3 call with "LoadCustomCABundleError: unsupported transport"
 * when AWS_CA_BUNDLE is set; the same bundle works when handed to rclone as --ca-cert
 * (RCLONE_CA_CERT), so it is moved there rather than dropped.
 */
export function controlledEnv(parent: NodeJS.ProcessEnv, version: V | undefined, log: Logger = silentLogger): Env {
  const env: Env = {};
  for (const [k, v] of Object.entries(parent)) if (v !== undefined) env[k] = v;

  const bundle = env.AWS_CA_BUNDLE;
  if (bundle !== undefined) {
    if (!readableFile(bundle)) {
      delete env.AWS_CA_BUNDLE;
      log.warn(`AWS_CA_BUNDLE=${bundle} is not a readable file; not passing it to rclone.`);
    } else if (version && !atLeast(version, AWS_CA_BUNDLE_WORKS)) {
      delete env.AWS_CA_BUNDLE;
      env.RCLONE_CA_CERT ??= bundle;
      log.info(
        `rclone ${versionString(version)} cannot use AWS_CA_BUNDLE ("unsupported transport"); ` +
          `passing ${bundle} as RCLONE_CA_CERT instead.`,
      );
    }
  }
  return env;
}

function readableFile(path: string): boolean {
  try {
    accessSync(path, constants.R_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** The rclone binary to use: the configured path, or the first `rclone` on PATH. No process is spawned. */
export function findBinary(configured: string | undefined, env: NodeJS.ProcessEnv): string {
  if (configured) {
    if (!isAbsolute(configured) || !isExecutableFile(configured)) {
      throw new RcloneError(
        'RcloneMissing',
        l10n.t`The configured rclone path "${configured}" is not an executable file.`,
        {
          fix: l10n.t('Fix the setting "rclone.path" (an absolute path), or clear it to use rclone from PATH.'),
        },
      );
    }
    return configured;
  }
  const found = onPath('rclone', env);
  if (found) return found;
  throw new RcloneError('RcloneMissing', l10n.t('rclone is not installed (not found on PATH).'));
}

export interface RunOptions {
  signal?: AbortSignal;
  /** Whole-call bound in milliseconds (default 60 s). */
  timeoutMs?: number;
  /** Written to rclone's stdin (e.g. a secret for `rclone obscure -`), never put on argv. */
  input?: string;
  /** Extra environment for this call only (e.g. RCLONE_CONFIG_<NAME>_* for a probe). */
  env?: Env;
  /** What the call works on, for error messages: "remote:bucket/path". */
  target?: string;
  /** Values to scrub from any error text. */
  secrets?: readonly string[];
  /** rclone's --retries for this call (default 1: the caller decides whether to try again). */
  retries?: number;
  /** Each line rclone writes to stderr, as it comes (with --use-json-log: one JSON object per line). */
  onStderrLine?: (line: string) => void;
}

export interface RcloneOptions {
  /** "rclone.path" setting; empty means PATH. */
  path?: string;
  /** Config file to pass as --config; empty means rclone's own choice (RCLONE_CONFIG or default). */
  configFile?: string;
  env?: NodeJS.ProcessEnv;
  log?: Logger;
  signal?: AbortSignal;
  /**
   * A folder where the answer of `rclone version` is kept, per binary, for as long as the binary
   * is the same file (path, size, mtime, inode): a process that runs for a fraction of a second
   * (the CLI) would otherwise spend ~60 ms of it asking again. Unset: always asked.
   */
  versionCache?: string;
  /**
   * With no `path`: the rclone to use when PATH has none, or one older than 1.60 (the CLI's own
   * install, ~/.local/share/rclone-devbox/bin/rclone), if it is an executable file.
   */
  fallback?: string;
}

export class Rclone {
  private constructor(
    readonly path: string,
    readonly version: Version,
    readonly env: Env,
    readonly configFile: string | undefined,
    readonly log: Logger,
  ) {}

  /** Finds rclone, reads its version and refuses one older than 1.60. */
  static async locate(opts: RcloneOptions = {}): Promise<Rclone> {
    if (opts.path || !opts.fallback) return Rclone.at(findBinary(opts.path, opts.env ?? process.env), opts);
    const fallback = opts.fallback;
    const onPath = async () => Rclone.at(findBinary(undefined, opts.env ?? process.env), opts);
    return onPath().catch((e: unknown) => {
      const missingOrOld = e instanceof RcloneError && (e.kind === 'RcloneMissing' || e.kind === 'RcloneTooOld');
      if (!missingOrOld || !isExecutableFile(fallback)) throw e;
      (opts.log ?? silentLogger).info(`${e.message} Trying ${fallback}.`);
      return Rclone.at(fallback, opts);
    });
  }

  /** The rclone at `path`, its version read (or taken from the cache) and checked. */
  private static async at(path: string, opts: RcloneOptions): Promise<Rclone> {
    const parent = opts.env ?? process.env;
    const log = opts.log ?? silentLogger;
    const key = opts.versionCache ? fileKey(path) : undefined;
    const cacheName = `rclone-version${path}`;
    const cached = key ? readCache<string>(opts.versionCache!, cacheName, key) : undefined;
    const out =
      cached ??
      (await new Rclone(
        path,
        { major: 0, minor: 0, patch: 0, text: '?' },
        controlledEnv(parent, undefined, log),
        opts.configFile || undefined, // so that even `rclone version` does not create ~/.config/rclone
        log,
      ).run(['version'], { timeoutMs: 15_000, signal: opts.signal, target: path }));
    const version = parseVersion(out);
    if (!version) {
      throw new RcloneError(
        'RcloneMissing',
        l10n.t`${path} does not look like rclone (unexpected "rclone version" output).`,
        { fix: l10n.t('Point "rclone.path" at the rclone binary.'), detail: out.slice(0, 200) },
      );
    }
    // Only the version line is kept: the rest (os, go version) is never read.
    if (key && cached === undefined) writeCache(opts.versionCache!, cacheName, key, `rclone ${version.text}\n`);
    if (!atLeast(version, MIN_VERSION)) {
      throw new RcloneError(
        'RcloneTooOld',
        l10n.t`rclone ${versionString(version)} is installed at ${path}; Rclone Dev Box needs ${versionString(MIN_VERSION)} or newer.`,
      );
    }
    log.info(`Using rclone ${version.text} at ${path}.`);
    return new Rclone(path, version, controlledEnv(parent, version, log), opts.configFile || undefined, log);
  }

  /** Flags every call gets: the config file, no password prompt (it would hang), bounded retries. */
  private argv(args: readonly string[], opts: RunOptions): string[] {
    const head = this.configFile ? ['--config', this.configFile] : [];
    return [
      ...head,
      '--ask-password=false',
      '--retries',
      String(opts.retries ?? 1),
      '--low-level-retries',
      '2',
      '--contimeout',
      '10s',
      ...args,
    ];
  }

  private start(args: readonly string[], opts: RunOptions, collect: boolean): Child {
    return new Child(this.path, this.argv(args, opts), {
      env: { ...this.env, ...opts.env },
      timeoutMs: opts.timeoutMs ?? 60_000,
      signal: opts.signal,
      input: opts.input,
      maxBuffer: 256 * 1024 * 1024,
      onStderrLine: opts.onStderrLine,
      collect,
    });
  }

  /** Runs rclone to completion and returns its stdout; throws a classified RcloneError. */
  async run(args: readonly string[], opts: RunOptions = {}): Promise<string> {
    const result = await this.start(args, opts, true).result;
    if (result.failed) throw this.failure(result, opts);
    return result.stdout;
  }

  /**
   * Runs rclone and yields its stdout line by line as it arrives. Leaving the loop early (break,
   * return, throw) or aborting the signal kills the child at once; a failure is thrown after the
   * last line. `timeoutMs: 0` means no whole-call bound (the caller bounds the wait itself).
   */
  async *lines(args: readonly string[], opts: RunOptions = {}): AsyncGenerator<string, void, undefined> {
    const child = this.start(args, opts, false);
    const lines = child.lines();
    let completed = false;
    try {
      for (;;) {
        // A read error (the pipe torn down) ends the lines; the child's result then says why.
        const next = await lines.next().catch(() => ({ done: true as const, value: undefined }));
        if (next.done) break;
        yield next.value;
      }
      completed = true;
    } finally {
      if (!completed) {
        // Killed first: rclone, its stdout closed, would otherwise exit only at its next write
        // (after its next S3 page, or never before the timeout).
        child.stop();
        await lines.return();
        await child.result;
      }
    }
    const result = await child.result;
    if (result.failed) throw this.failure(result, opts);
  }

  /**
   * Starts a long-lived rclone (a mount) in its own session, detached from us, so it outlives the
   * editor window. Returns its pid and a promise of its exit code (undefined if killed by a signal);
   * the caller watches its log file for what it says.
   */
  spawnDetached(
    args: readonly string[],
    env: Env = {},
    stderrFile?: string,
  ): { pid: number; exited: Promise<number | undefined> } {
    const head = this.configFile ? ['--config', this.configFile] : [];
    // What rclone says before its log file is open (a rejected flag) goes to stderr: that is handed
    // to it as the log file's own descriptor. Node's spawn, not execa: execa would pipe a file target
    // through this process, and rclone would die of SIGPIPE once the window that started it closes.
    const stderr = stderrFile ? openSync(stderrFile, 'a', 0o600) : 'ignore';
    // Its verbosity is its argv's --log-level: beside it, rclone refuses RCLONE_VERBOSE and
    // RCLONE_QUIET ("Can't set -v and --log-level"), and RCLONE_LOG_LEVEL=DEBUG makes it log every
    // option it reads from the environment, value included (the rc password, secret flags).
    const { RCLONE_VERBOSE: _v, RCLONE_QUIET: _q, RCLONE_LOG_LEVEL: _l, ...inherited } = this.env;
    try {
      const child = spawn(this.path, [...head, '--ask-password=false', ...args], {
        env: { ...inherited, ...env },
        detached: true,
        stdio: ['ignore', 'ignore', stderr],
      });
      const exited = new Promise<number | undefined>((ok) => {
        child.once('exit', (code, signal) => ok(signal ? undefined : (code ?? undefined)));
        child.once('error', () => ok(undefined));
      });
      if (child.pid === undefined)
        throw new RcloneError('RcloneMissing', l10n.t`rclone could not be started from ${this.path}.`);
      child.unref();
      return { pid: child.pid, exited };
    } finally {
      if (typeof stderr === 'number') closeSync(stderr);
    }
  }

  private failure(result: ChildResult, opts: RunOptions): RcloneError {
    const target = opts.target ?? 'rclone';
    if (result.code === 'ENOENT' || result.code === 'EACCES') {
      return new RcloneError('RcloneMissing', l10n.t`rclone could not be started from ${this.path}.`, {
        detail: result.originalMessage ?? '',
      });
    }
    if (result.isCanceled) return new RcloneError('Cancelled', l10n.t`Cancelled: ${target}.`);
    const stderr = result.stderr;
    if (result.timedOut) {
      const cause = classify({ stderr, target, secrets: opts.secrets });
      const seconds = Math.round((opts.timeoutMs ?? 60_000) / 1000);
      return cause.kind === 'Unknown'
        ? new RcloneError('Timeout', l10n.t`rclone did not finish ${target} within ${seconds} s.`, {
            detail: cause.detail,
          })
        : cause;
    }
    return classify({ exitCode: result.exitCode, stderr, target, secrets: opts.secrets });
  }
}
