// rclone.conf: where it is, which remotes it (and the environment) defines, and safe edits.
// Secrets are never read into memory by listing and never put on argv when writing. An edit is a
// read-modify-write under a lock shared by every process (windows, the CLI), and the file is
// replaced atomically through any symlink, keeping its mode (see files.ts).
import { realpathSync, watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import * as l10n from '@vscode/l10n';
import { isOurProfile, removeProfile } from './awsConfig';
import { confValue, hasRemote, readConf, removeRemote, upsertRemote } from './confText';
import { isRcloneError, RcloneError } from './errors';
import { type Disposable, Emitter, type Event } from './events';
import { linkTarget, writeAtomically } from './files';
import { lockedEdit } from './lock';
import type { Rclone } from './rclone';

export interface Remote {
  name: string;
  type: string;
  /** S3 flavour (AWS, Alibaba, TencentCOS, Minio, Other, …). */
  provider?: string;
  endpoint?: string;
  region?: string;
  /**
   * How an S3 remote gets its credentials: long-lived keys, keys with a session token (STS), a
   * command of ours in the AWS config file (`credential_process`, renewed by rclone), or the
   * environment / AWS config as the user set it up.
   */
  credentials?: 'keys' | 'session' | 'command' | 'env';
  /** The AWS profile it reads (`profile`), when it has one. */
  profile?: string;
  /** Where it is defined: the config file, RCLONE_CONFIG_<NAME>_* variables, or both (env overrides). */
  source: 'file' | 'env' | 'file+env';
}

/**
 * Remote names that every rclone this extension supports accepts. rclone 1.60 (fs/fspath/path.go)
 * allows `[\w_. -]+` not starting with `-`, but drops leading and trailing spaces when it reads the
 * file back, so such a remote can be created and never used. rclone 1.61+ has
 * `[\w\p{L}\p{N}.+@]+(?:[ -]+[\w\p{L}\p{N}.+@-]+)*` (Unicode, `+` and `@` from 1.62). A name must
 * satisfy both: the later shape with 1.60's characters (Go's `\w` is ASCII, as JavaScript's is).
 */
const REMOTE_NAME = /^[\w.]+(?:[ -]+[\w.-]+)*$/;

export function checkRemoteName(name: string): void {
  if (!REMOTE_NAME.test(name)) {
    throw new RcloneError('ConfigInvalid', l10n.t`"${name}" is not a valid remote name.`, {
      fix: l10n.t('Use letters A-Z/a-z, digits, "_" and "."; "-" and spaces only between them.'),
    });
  }
}

const ENCRYPTED = /^RCLONE_ENCRYPT_V\d+:/m;
const envKey = /^RCLONE_CONFIG_(.+)_(TYPE|PROVIDER|ENDPOINT|REGION)$/;

/** Remotes defined (or overridden) by RCLONE_CONFIG_<NAME>_<KEY> variables, keyed by upper-case name. */
function envRemotes(env: Readonly<Record<string, string | undefined>>): Map<string, Partial<Remote>> {
  const found = new Map<string, Partial<Remote>>();
  for (const [k, v] of Object.entries(env)) {
    const m = envKey.exec(k);
    if (!m || v === undefined || m[1] === 'PASS') continue;
    const entry = found.get(m[1]!) ?? {};
    entry[m[2]!.toLowerCase() as 'type' | 'provider' | 'endpoint' | 'region'] = v;
    found.set(m[1]!, entry);
  }
  return found;
}

/** Lists remotes from config text plus the environment, as rclone reads them, without keeping any secret value. */
export function parseRemotes(
  text: string,
  env: Readonly<Record<string, string | undefined>> = {},
  file?: string,
): Remote[] {
  const conf = readConf(text, file);
  const fromEnv = envRemotes(env);
  const remotes: Remote[] = [];
  for (const name of conf.keys()) {
    const value = (key: string) => str(confValue(conf, name, key));
    const override = fromEnv.get(name.toUpperCase());
    fromEnv.delete(name.toUpperCase());
    remotes.push(
      pick(
        name,
        {
          type: value('type'),
          provider: value('provider'),
          endpoint: value('endpoint'),
          region: value('region'),
          credentials: credentialsOf(value),
          profile: value('profile'),
          ...override,
        },
        override ? 'file+env' : 'file',
      ),
    );
  }
  for (const [upper, values] of fromEnv) if (values.type) remotes.push(pick(upper.toLowerCase(), values, 'env'));
  return remotes.sort((a, b) => a.name.localeCompare(b.name));
}

const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);

function pick(name: string, v: Partial<Remote>, source: Remote['source']): Remote {
  const remote: Remote = { name, type: v.type ?? 'unknown', source };
  if (v.provider) remote.provider = v.provider;
  if (v.endpoint) remote.endpoint = v.endpoint;
  if (v.region) remote.region = v.region;
  if (v.credentials && remote.type === 's3') remote.credentials = v.credentials;
  if (v.profile) remote.profile = v.profile;
  return remote;
}

/** How an S3 remote's section says it gets its credentials (values are looked at, never kept). */
function credentialsOf(value: (key: string) => string | undefined): Remote['credentials'] {
  if (/^true$/i.test(value('env_auth') ?? '')) return isOurProfile(value('profile')) ? 'command' : 'env';
  if (value('session_token')) return 'session';
  return value('access_key_id') ? 'keys' : undefined;
}

/** Asks rclone where its config file is (this honours RCLONE_CONFIG and --config). */
export async function locateConfigFile(rclone: Rclone, signal?: AbortSignal): Promise<string> {
  if (rclone.configFile) return rclone.configFile;
  const out = await rclone.run(['config', 'file'], { timeoutMs: 15_000, signal, target: 'config file' });
  const path = out
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .pop();
  if (!path?.startsWith('/')) {
    throw new RcloneError('ConfigInvalid', l10n.t('rclone did not say where its config file is.'), {
      fix: l10n.t('Set "rclone.configFile".'),
      detail: out,
    });
  }
  return path;
}

/** Runs `work` holding the edit lock of rclone's config file `target` (see lockedEdit). */
const lockedConfigEdit = (target: string, work: () => Promise<void>) =>
  lockedEdit(
    target,
    work,
    (dir) =>
      l10n.t`Make ${dir} writable for this user, or set "rclone.configFile" to a config in a folder you can write.`,
  );

/**
 * rclone's own words for a config it cannot use ("didn't find section" for a remote without a
 * type, a line it cannot parse, an unknown backend) name neither the file nor the remote: said
 * again from the file's text, naming both. Any other error, or a file that cannot be read, as it was.
 */
export async function explainConfigError(rclone: Rclone, e: RcloneError, remote: string): Promise<RcloneError> {
  if ((e.kind !== 'RemoteNotFound' && e.kind !== 'ConfigInvalid') || !/^[\w.+@ -]+$/u.test(remote)) return e;
  const file = await locateConfigFile(rclone).catch(() => undefined);
  const text = file && (await readFile(file, 'utf8').catch(() => undefined));
  if (!file || !text || ENCRYPTED.test(text)) return e;
  const again = (message: string, fix?: string) => new RcloneError('ConfigInvalid', message, { fix, detail: e.detail });
  let type: string | undefined;
  try {
    const conf = readConf(text, file);
    if (!conf.has(remote) || rclone.env[`RCLONE_CONFIG_${remote.toUpperCase()}_TYPE`]) return e;
    type = confValue(conf, remote, 'type');
  } catch (bad) {
    return isRcloneError(bad) ? again(bad.message, bad.fix) : e;
  }
  if (!type)
    return again(
      l10n.t`The remote "${remote}" in ${file} has no "type".`,
      l10n.t('Add `type = s3` (or the backend it is: `rclone help backends`) to its section.'),
    );
  if (/didn't find backend called/.test(e.detail))
    return again(
      l10n.t`The remote "${remote}" in ${file} has the type "${type}", which rclone ${rclone.version.text} does not have.`,
    );
  return e;
}

interface BackendOption {
  Name: string;
  IsPassword?: boolean;
}
interface Backend {
  Name: string;
  Prefix: string;
  Options: BackendOption[];
}

export class RcloneConfig implements Disposable {
  private readonly changed = new Emitter<void>();
  /** Fires when the file changes, whoever changed it. */
  readonly onDidChange: Event<void> = this.changed.event;
  private watchers: FSWatcher[] = [];
  private watching = false;
  private debounce: NodeJS.Timeout | undefined;
  private writes: Promise<unknown> = Promise.resolve();
  private backends: Promise<Backend[]> | undefined;

  constructor(
    private readonly rclone: Rclone,
    /** Absolute path of rclone.conf (it may not exist yet). */
    readonly path: string,
  ) {}

  static async open(rclone: Rclone, signal?: AbortSignal): Promise<RcloneConfig> {
    return new RcloneConfig(rclone, await locateConfigFile(rclone, signal));
  }

  private async text(): Promise<string> {
    try {
      return await readFile(this.path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return '';
      throw new RcloneError('PermissionDenied', l10n.t`Cannot read ${this.path}.`, {
        fix: l10n.t("Check the file's owner and permissions."),
        detail: (e as Error).message,
      });
    }
  }

  /** Remotes from the file and from RCLONE_CONFIG_* variables, with type, provider and endpoint only. */
  async remotes(signal?: AbortSignal): Promise<Remote[]> {
    const text = await this.text();
    if (!ENCRYPTED.test(text)) return parseRemotes(text, this.rclone.env, this.path);
    // An encrypted file can only be read by rclone itself (with RCLONE_CONFIG_PASS); names and types suffice.
    const out = await this.rclone.run(['listremotes', '--long'], { timeoutMs: 15_000, signal, target: this.path });
    return out
      .split('\n')
      .map((l) => /^(.+?):\s+(\S+)\s*$/.exec(l))
      .flatMap((m) => (m ? [{ name: m[1]!, type: m[2]!, source: 'file' as const }] : []));
  }

  /** rclone's own description of its backends: which types exist and which options are passwords. */
  private backendList(signal?: AbortSignal): Promise<Backend[]> {
    this.backends ??= this.rclone
      .run(['config', 'providers'], { timeoutMs: 30_000, signal, target: 'config providers' })
      .then((out) => JSON.parse(out) as Backend[]);
    return this.backends.catch((e) => {
      this.backends = undefined;
      throw e;
    });
  }

  /**
   * Creates remote `name` of `type`, or updates it, with `values` (keys as in rclone.conf).
   * Password-type options are obscured by `rclone obscure -` reading stdin, so no secret reaches
   * any argv; other remotes and comments in the file are left exactly as they were.
   */
  async setRemote(
    name: string,
    type: string,
    values: Record<string, string | undefined>,
    signal?: AbortSignal,
  ): Promise<void> {
    // A remote already in the file keeps its name: a newer rclone may have made it with `+` or `@`.
    if (!hasRemote(await this.text(), name)) checkRemoteName(name);
    const backend = (await this.backendList(signal)).find((b) => b.Prefix === type || b.Name === type);
    if (!backend) {
      throw new RcloneError('ConfigInvalid', l10n.t`rclone ${this.rclone.version.text} has no backend "${type}".`, {
        fix: l10n.t('Pick a type listed by `rclone help backends`.'),
      });
    }
    const stored: Record<string, string | undefined> = { type: backend.Prefix };
    const secrets = Object.values(values).filter((v): v is string => !!v);
    for (const [key, value] of Object.entries(values)) {
      const isPassword = backend.Options.some((o) => o.Name === key && o.IsPassword);
      stored[key] = value && isPassword ? await this.obscure(value, signal, secrets) : value;
    }
    await this.edit((text) => upsertRemote(text, name, stored));
  }

  /** Removes the remote's lines, and its credentials command if it had one of ours in the AWS config file. */
  async removeRemote(name: string): Promise<void> {
    const profile = (await this.remotes()).find((r) => r.name === name && r.credentials === 'command')?.profile;
    await this.edit((text) => removeRemote(text, name));
    if (profile) await removeProfile(this.rclone.env, profile);
  }

  private async obscure(value: string, signal: AbortSignal | undefined, secrets: string[]): Promise<string> {
    const out = await this.rclone.run(['obscure', '-'], {
      input: value,
      timeoutMs: 15_000,
      signal,
      target: 'obscure',
      secrets,
    });
    return out.trim();
  }

  /**
   * Read-modify-write under a per-file queue (this process) and a lock file (all processes), so
   * that concurrent edits from two windows or the CLI never lose one another's remotes. The new
   * text replaces the file by rename.
   */
  private edit(change: (text: string) => string): Promise<void> {
    const next = this.writes.then(async () => {
      const target = await linkTarget(this.path);
      await lockedConfigEdit(target, async () => {
        const before = await this.text();
        if (ENCRYPTED.test(before)) {
          throw new RcloneError(
            'ConfigInvalid',
            l10n.t`${this.path} is encrypted; Rclone Dev Box does not edit encrypted configs.`,
            { fix: l10n.t('Edit it with `rclone config`.') },
          );
        }
        // A file rclone cannot load is refused as it is: an edit would only hide the broken line.
        readConf(before, this.path);
        const after = change(before);
        if (after !== before) await writeAtomically(target, after);
      });
      if (this.watching && !this.watchers.length) this.watch(); // the folder may only now exist
    });
    this.writes = next.catch(() => undefined);
    return next;
  }

  /**
   * Starts noticing changes to the file by any program. Watches folders, as an atomic replace
   * swaps the inode: the file's own folder and, for a symlinked config, also its target's, where
   * edits (ours included) replace the file.
   */
  watch(): this {
    this.watching = true;
    if (this.watchers.length) return this;
    let target = this.path;
    try {
      target = realpathSync(this.path);
    } catch {
      // Not there yet: only the configured path can be watched.
    }
    for (const file of new Set([this.path, target])) {
      try {
        const watcher = watch(dirname(file), { persistent: false }, (_event, name) => {
          if (name !== null && name !== basename(file)) return;
          clearTimeout(this.debounce);
          this.debounce = setTimeout(() => this.changed.fire(), 50);
        });
        watcher.on('error', () => this.stopWatching());
        this.watchers.push(watcher);
      } catch {
        // The folder does not exist yet: nothing to watch until a remote is added.
      }
    }
    return this;
  }

  private stopWatching(): void {
    this.watching = false;
    for (const w of this.watchers.splice(0)) w.close();
    clearTimeout(this.debounce);
  }

  dispose(): void {
    this.stopWatching();
    this.changed.dispose();
  }
}
