// rclone.conf: where it is, which remotes it (and the environment) defines, and safe edits.
// Secrets are never read into memory by listing, never put on argv when writing, and the file
// is replaced atomically with mode 0600.
import { parse as parseIni } from 'ini';
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { removeRemote, upsertRemote } from './confText';
import { RcloneError } from './errors';
import { type Disposable, Emitter, type Event } from './events';
import { writeAtomically } from './files';
import type { Rclone } from './rclone';

export interface Remote {
  name: string;
  type: string;
  /** S3 flavour (AWS, Alibaba, TencentCOS, Minio, Other, …). */
  provider?: string;
  endpoint?: string;
  region?: string;
  /** Where it is defined: the config file, RCLONE_CONFIG_<NAME>_* variables, or both (env overrides). */
  source: 'file' | 'env' | 'file+env';
}

/** Remote names rclone accepts: letters, digits, `_ . - + @` and inner spaces, not starting with `-`. */
export function checkRemoteName(name: string): void {
  if (!/^[A-Za-z0-9_.+@][A-Za-z0-9_.+@ -]*$/.test(name) || name.endsWith(' ')) {
    throw new RcloneError('ConfigInvalid', `"${name}" is not a valid remote name.`, {
      fix: 'Use letters, digits, "_", ".", "-", "+", "@" and inner spaces; do not start with "-".',
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

/** Lists remotes from config text plus the environment, without keeping any secret value. */
export function parseRemotes(text: string, env: Readonly<Record<string, string | undefined>> = {}): Remote[] {
  const parsed = parseIni(text) as Record<string, Record<string, unknown>>;
  const fromEnv = envRemotes(env);
  const remotes: Remote[] = [];
  for (const [name, section] of Object.entries(parsed)) {
    if (typeof section !== 'object' || section === null) continue;
    const override = fromEnv.get(name.toUpperCase());
    fromEnv.delete(name.toUpperCase());
    remotes.push(
      pick(
        name,
        {
          type: str(section.type),
          provider: str(section.provider),
          endpoint: str(section.endpoint),
          region: str(section.region),
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
  return remote;
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
    throw new RcloneError('ConfigInvalid', 'rclone did not say where its config file is.', {
      fix: 'Set "rclone.configFile".',
      detail: out,
    });
  }
  return path;
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
  private watcher: FSWatcher | undefined;
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
      throw new RcloneError('PermissionDenied', `Cannot read ${this.path}.`, {
        fix: "Check the file's owner and permissions.",
        detail: (e as Error).message,
      });
    }
  }

  /** Remotes from the file and from RCLONE_CONFIG_* variables, with type, provider and endpoint only. */
  async remotes(signal?: AbortSignal): Promise<Remote[]> {
    const text = await this.text();
    if (!ENCRYPTED.test(text)) return parseRemotes(text, this.rclone.env);
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
    checkRemoteName(name);
    const backend = (await this.backendList(signal)).find((b) => b.Prefix === type || b.Name === type);
    if (!backend) {
      throw new RcloneError('ConfigInvalid', `rclone ${this.rclone.version.text} has no backend "${type}".`, {
        fix: 'Pick a type listed by `rclone help backends`.',
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

  async removeRemote(name: string): Promise<void> {
    await this.edit((text) => removeRemote(text, name));
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

  /** Read-modify-write under a per-file queue; the new text replaces the file by rename. */
  private edit(change: (text: string) => string): Promise<void> {
    const next = this.writes.then(async () => {
      const before = await this.text();
      if (ENCRYPTED.test(before)) {
        throw new RcloneError(
          'ConfigInvalid',
          `${this.path} is encrypted; Rclone Dev Box does not edit encrypted configs.`,
          { fix: 'Edit it with `rclone config`.' },
        );
      }
      const after = change(before);
      if (after === before) return;
      await writeAtomically(this.path, after);
      if (this.watching && !this.watcher) this.watch(); // the folder may only now exist
    });
    this.writes = next.catch(() => undefined);
    return next;
  }

  /** Starts noticing changes to the file by any program. Watches the folder: an atomic replace swaps the inode. */
  watch(): this {
    this.watching = true;
    if (this.watcher) return this;
    const name = basename(this.path);
    try {
      this.watcher = watch(dirname(this.path), { persistent: false }, (_event, file) => {
        if (file !== null && file !== name) return;
        clearTimeout(this.debounce);
        this.debounce = setTimeout(() => this.changed.fire(), 50);
      });
      this.watcher.on('error', () => this.stopWatching());
    } catch {
      // The folder does not exist yet: nothing to watch until a remote is added.
    }
    return this;
  }

  private stopWatching(): void {
    this.watching = false;
    this.watcher?.close();
    this.watcher = undefined;
    clearTimeout(this.debounce);
  }

  dispose(): void {
    this.stopWatching();
    this.changed.dispose();
  }
}
