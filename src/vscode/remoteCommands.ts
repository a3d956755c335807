// Add Remote (a few questions for S3-compatible providers), Edit Remote, Remove Remote.
// Credentials are keys, keys with a session token (STS), or a command that prints short-lived
// credentials (AWS `credential_process`, written to the AWS config file: rclone renews them
// itself). The secret key and token are typed into password boxes, scrubbed from the log, and
// written to rclone.conf by core (never on any argv); a command is tried once before it is saved,
// and what it prints is never shown or logged. A new or edited remote is tried at once by listing
// its buckets.
import * as vscode from 'vscode';
import {
  isOurProfile,
  credentialProcessOf,
  profileFor,
  removeProfile,
  setCredentialProcess,
  tryCredentialProcess,
} from '../core/awsConfig';
import { checkRemoteName, type Remote } from '../core/config';
import { parseExpiry } from '../core/expiry';
import { commandValues, keyValues } from '../core/teamProfile';
import { RcloneError } from '../core/errors';
import { listBuckets } from '../core/listing';
import { abortOn } from './cancel';
import { command } from './commands';
import { showFailure } from './failures';
import { RemoteNode } from './nodes';
import type { Services } from './services';

interface Provider {
  label: string;
  /** rclone's `provider` value for the s3 backend. */
  provider: string;
  endpointHint?: string;
  /** AWS: a region instead of an endpoint. */
  regionHint?: string;
}

/** The providers Add Remote offers, in the display language (a function: never translated at import). */
const providers = (): readonly Provider[] => [
  { label: 'AWS S3', provider: 'AWS', regionHint: 'us-east-1' },
  {
    label: vscode.l10n.t('CompShare / UCloud US3'),
    provider: 'Other',
    endpointHint: vscode.l10n.t('https://… (the S3 endpoint shown in the CompShare or UCloud console)'),
  },
  { label: vscode.l10n.t('Aliyun OSS'), provider: 'Alibaba', endpointHint: 'oss-cn-hangzhou.aliyuncs.com' },
  { label: vscode.l10n.t('Tencent COS'), provider: 'TencentCOS', endpointHint: 'cos.ap-guangzhou.myqcloud.com' },
  { label: 'MinIO', provider: 'Minio', endpointHint: 'http://127.0.0.1:9000' },
  { label: vscode.l10n.t('Other S3-compatible'), provider: 'Other', endpointHint: 'https://s3.example.com' },
];

/** Questions before the credentials: name, provider, endpoint (or region), and which kind. */
const BEFORE_CREDENTIALS = 4;
/** Questions per kind of credentials, after those. */
const CREDENTIAL_STEPS: Record<'keys' | 'session' | 'command', number> = { keys: 2, session: 4, command: 1 };
const step = (title: string, n: number, kind: keyof typeof CREDENTIAL_STEPS = 'keys') =>
  `${title} (${n}/${BEFORE_CREDENTIALS + CREDENTIAL_STEPS[kind]})`;

export function register(svc: Services): vscode.Disposable {
  const nameOf = (arg: unknown) =>
    arg instanceof RemoteNode ? arg.remote.name : typeof arg === 'string' ? arg : undefined;
  return vscode.Disposable.from(
    command(svc, 'rclone.addRemote', () => addRemote(svc)),
    command(svc, 'rclone.editRemote', (arg?: unknown) => editRemote(svc, nameOf(arg))),
    command(svc, 'rclone.removeRemote', (arg?: unknown) => removeRemote(svc, nameOf(arg))),
  );
}

/** Returns the new remote's name once it is saved (and tried), undefined if the user gave up. */
async function addRemote(svc: Services): Promise<string | undefined> {
  const { ui } = svc;
  try {
    const config = await svc.config();
    const existing = new Set((await config.remotes()).map((r) => r.name));
    const name = await ui.input({
      title: step(vscode.l10n.t('Add Remote'), 1),
      prompt: vscode.l10n.t('A name for the remote, used as name:bucket'),
      placeHolder: 'compshare',
      validateInput: (v) => (existing.has(v) ? vscode.l10n.t('There is already a remote "{0}".', v) : validName(v)),
    });
    if (!name) return undefined;
    const flavour = await ui.pick(
      providers().map((p) => ({ ...p, description: p.provider })),
      {
        title: step(vscode.l10n.t('Add Remote'), 2),
        placeHolder: vscode.l10n.t('Which S3-compatible service?'),
      },
    );
    if (!flavour) return undefined;
    const connection = await askConnection(svc, flavour, vscode.l10n.t('Add Remote'), undefined);
    if (!connection) return undefined;
    await saveRemote(svc, name, { ...connection, provider: flavour.provider }, 'Added', undefined);
    return name;
  } catch (e) {
    showFailure(svc, e);
    return undefined;
  }
}

/** What askConnection gathered: rclone.conf values, and a credentials command to put in the AWS config file. */
export interface Connection {
  values: Record<string, string | undefined>;
  command?: string;
  /** When pasted session credentials expire (null: unknown, or credentials that need none; undefined: as before). */
  expires?: Date | null;
}

/**
 * Endpoint (or region), then the credentials: keys, keys with a session token, or a command. In an
 * edit, an empty key or token keeps the old one (of the same kind).
 */
async function askConnection(
  svc: Services,
  p: Provider,
  title: string,
  current: Remote | undefined,
): Promise<Connection | undefined> {
  const { ui } = svc;
  const values: Record<string, string | undefined> = {};
  if (p.regionHint) {
    const region = await ui.input({
      title: step(title, 3),
      prompt: vscode.l10n.t('AWS region of the buckets'),
      value: current?.region ?? p.regionHint,
    });
    if (region === undefined) return undefined;
    values.region = region.trim() || undefined;
  } else {
    const endpoint = await ui.input({
      title: step(title, 3),
      prompt: vscode.l10n.t('Endpoint URL of the S3 API'),
      placeHolder: p.endpointHint,
      value: current?.endpoint,
      validateInput: (v) =>
        v.trim() && !/\s/.test(v.trim())
          ? undefined
          : vscode.l10n.t('Give the endpoint, e.g. {0}', `${p.endpointHint}`),
    });
    if (endpoint === undefined) return undefined;
    values.endpoint = endpoint.trim();
  }
  const kinds: (vscode.QuickPickItem & { way: 'keys' | 'session' | 'command' })[] = [
    {
      way: 'keys',
      label: vscode.l10n.t('Access keys'),
      detail: vscode.l10n.t('An access key ID and a secret key that do not expire.'),
    },
    {
      way: 'session',
      label: vscode.l10n.t('Temporary keys with a session token (STS)'),
      detail: vscode.l10n.t(
        'Keys and a session token from your STS console or `aws sts …`; paste new ones when they expire.',
      ),
    },
    {
      way: 'command',
      label: vscode.l10n.t('Credentials from a command'),
      detail: vscode.l10n.t(
        'A command that prints temporary credentials as JSON (AWS credential_process): rclone runs it again whenever they expire, even in a running mount.',
      ),
    },
  ];
  const was = current?.credentials;
  for (const k of kinds) if (k.way === was) k.description = vscode.l10n.t('current');
  const chosen = await ui.pick(kinds, {
    title: step(title, 4),
    placeHolder: vscode.l10n.t('How does it get its credentials?'),
  });
  if (!chosen) return undefined;
  const kind = chosen.way;
  // Keys kept from before only when the kind stays the same: a token never outlives its keys.
  const keep = !!current && was === kind;
  if (kind === 'command') return askCommand(svc, title, current, values);
  const secrets = await askKeys(svc, kind, keep, (n) => step(title, BEFORE_CREDENTIALS + n, kind));
  return secrets && { ...secrets, values: { ...values, ...secrets.values } };
}

/**
 * The secrets of keys (access key ID, secret key) or of temporary keys (those, a session token
 * and when they expire), in password boxes but the key ID; `titleOf(n)` titles the n-th question.
 * With `keep` (an edit of the same kind), an empty answer keeps the current one. The values to
 * write to rclone.conf (env_auth and profile cleared: rclone then reads the keys of the remote itself).
 */
export async function askKeys(
  svc: Services,
  kind: 'keys' | 'session',
  keep: boolean,
  titleOf: (n: number) => string,
): Promise<Connection | undefined> {
  const { ui } = svc;
  let expires: Date | null | undefined = null;
  const keyId = await ui.input({
    title: titleOf(1),
    prompt: keep ? vscode.l10n.t('Access key ID (empty: keep the current one)') : vscode.l10n.t('Access key ID'),
    ignoreFocusOut: true,
    validateInput: (v) => (v.trim() || keep ? undefined : vscode.l10n.t('Required')),
  });
  if (keyId === undefined) return undefined;
  const secret = await ui.input({
    title: titleOf(2),
    prompt: keep
      ? vscode.l10n.t('Secret access key (empty: keep the current one)')
      : vscode.l10n.t('Secret access key'),
    password: true,
    validateInput: (v) => (v || keep ? undefined : vscode.l10n.t('Required')),
  });
  if (secret === undefined) return undefined;
  svc.log.forget(secret);
  let token: string | undefined;
  if (kind === 'session') {
    token = await ui.input({
      title: titleOf(3),
      prompt: keep ? vscode.l10n.t('Session token (empty: keep the current one)') : vscode.l10n.t('Session token'),
      password: true,
      validateInput: (v) => (v.trim() || keep ? undefined : vscode.l10n.t('Required')),
    });
    if (token === undefined) return undefined;
    svc.log.forget(token.trim());
    const until = await ui.input({
      title: titleOf(4),
      prompt: vscode.l10n.t(
        'When do they expire? e.g. 1h, 90m, 17:30 or 2026-11-30T09:00Z (empty: unknown). Mounts of this remote are stopped, their uploads done, 2 minutes before.',
      ),
      ignoreFocusOut: true,
      validateInput: (v) => {
        try {
          parseExpiry(v);
          return undefined;
        } catch (e) {
          return (e as Error).message;
        }
      },
    });
    if (until === undefined) return undefined;
    // A kept token keeps its expiry unless a new one is given; a new token without one: unknown.
    expires = parseExpiry(until) ?? (token.trim() ? null : undefined);
  }
  return { values: keyValues(kind, { keyId, secret, token }), expires };
}

/** The command (tried once, its output unseen) and the values that make rclone run it. */
async function askCommand(
  svc: Services,
  title: string,
  current: Remote | undefined,
  values: Record<string, string | undefined>,
): Promise<Connection | undefined> {
  const env = (await svc.rclone()).env;
  const before =
    current?.credentials === 'command' && current.profile ? await credentialProcessOf(env, current.profile) : undefined;
  const command = await svc.ui.input({
    title: step(title, 5, 'command'),
    prompt: vscode.l10n.t(
      'Command that prints credentials as JSON (Version, AccessKeyId, SecretAccessKey, SessionToken, Expiration); run with sh -c, as the AWS SDK does',
    ),
    placeHolder: '/opt/team/sts-broker --role models-read',
    value: before,
    ignoreFocusOut: true,
    validateInput: (v) => (v.trim() && !/[\r\n]/.test(v) ? undefined : vscode.l10n.t('One line, required')),
  });
  if (!command?.trim()) return undefined;
  return commandConnection(command, values);
}

/** A remote whose credentials come from `command`: env_auth (saveRemote adds our profile), no keys. */
export function commandConnection(command: string, values: Record<string, string | undefined> = {}): Connection {
  return {
    command: command.trim(),
    expires: null, // rclone renews these itself
    values: commandValues(values),
  };
}

/**
 * Writes remote `name` (type s3) with the connection's values, its credentials command first
 * (tried once, then put in the AWS config file as our profile), then tries it by listing its
 * buckets and says how that went. Values left out stay as they are in rclone.conf; a connection
 * that clears `profile` (keys again) also removes the command profile `current` had.
 */
export async function saveRemote(
  svc: Services,
  name: string,
  connection: Connection & { provider?: string },
  verb: 'Added' | 'Updated',
  current: Remote | undefined,
): Promise<void> {
  const config = await svc.config();
  const env = (await svc.rclone()).env;
  const { command } = connection;
  const values: Record<string, string | undefined> = {
    ...(connection.provider ? { provider: connection.provider } : {}),
    ...connection.values,
  };
  let until: Date | undefined;
  if (command) {
    // Tried before anything is written: a command that fails is said now, not at the first mount.
    until = (
      await vscode.window.withProgress(
        {
          location: vscode.ProgressLocation.Notification,
          title: vscode.l10n.t('Running the credentials command…'),
          cancellable: true,
        },
        (_p, token) => tryCredentialProcess(command, env, { timeoutMs: 60_000, signal: abortOn(token) }),
      )
    ).expires;
    values.profile = profileFor(name);
    await setCredentialProcess(env, values.profile, command);
  }
  await config.setRemote(name, 's3', values);
  if (connection.expires !== undefined) await svc.expiry.set(config.path, name, connection.expires ?? undefined);
  if (!command && 'profile' in values && current?.credentials === 'command' && isOurProfile(current.profile))
    await removeProfile(env, current.profile!);
  svc.log.info(
    `${verb} remote ${name} in ${config.path}${command ? ` (credentials from a command, profile ${values.profile})` : ''}.`,
  );
  if (until)
    svc.ui.notify(
      'info',
      vscode.l10n.t(
        'The credentials command works: its credentials run until {0}, and rclone runs it again whenever they expire.',
        until.toLocaleString(vscode.env.language),
      ),
    );
  try {
    const buckets = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: vscode.l10n.t('Trying {0}…', name), cancellable: true },
      async (_p, token) => listBuckets(await svc.rclone(), name, { timeoutMs: 30_000, signal: abortOn(token) }),
    );
    const n = buckets.length;
    const found = n === 1 ? vscode.l10n.t('1 bucket') : vscode.l10n.t('{0} buckets', n);
    const message =
      verb === 'Added'
        ? vscode.l10n.t('Added remote {0}: {1} found.', name, found)
        : vscode.l10n.t('Updated remote {0}: {1} found.', name, found);
    svc.ui.notify('info', message, [
      { title: vscode.l10n.t('Show Remotes'), run: () => vscode.commands.executeCommand('rclone.remotes.focus') },
    ]);
  } catch (e) {
    showFailure(svc, e, { remote: name });
  }
}

async function editRemote(svc: Services, name: string | undefined): Promise<void> {
  try {
    const config = await svc.config();
    const remotes = (await config.remotes()).filter((r) => r.source !== 'env');
    name ??= (
      await svc.ui.pick(
        remotes.map((r) => ({ label: r.name, description: r.provider ?? r.type })),
        { title: vscode.l10n.t('Edit Remote') },
      )
    )?.label;
    const remote = remotes.find((r) => r.name === name);
    if (!name) return;
    if (!remote)
      throw new RcloneError('RemoteNotFound', vscode.l10n.t('There is no remote "{0}" in {1}.', name, config.path));
    if (remote.type !== 's3') {
      await vscode.window.showTextDocument(vscode.Uri.file(config.path));
      return;
    }
    const all = providers();
    const flavour = all.find((p) => p.provider === remote.provider) ?? all[all.length - 1]!;
    const connection = await askConnection(svc, flavour, vscode.l10n.t('Edit {0}', name), remote);
    if (connection) await saveRemote(svc, name, connection, 'Updated', remote);
  } catch (e) {
    showFailure(svc, e, { remote: name });
  }
}

async function removeRemote(svc: Services, name: string | undefined): Promise<boolean> {
  try {
    const config = await svc.config();
    name ??= (
      await svc.ui.pick(
        (await config.remotes()).filter((r) => r.source !== 'env').map((r) => ({ label: r.name })),
        { title: vscode.l10n.t('Remove Remote') },
      )
    )?.label;
    if (!name) return false;
    const mounted = svc.registry.mounts.filter((m) => m.remote.startsWith(`${name}:`));
    const detail = mounted.length
      ? vscode.l10n.t(
          'Its lines are removed from {0}; other remotes stay as they are. It is still mounted on {1}; those mounts keep running.',
          config.path,
          mounted.map((m) => m.mountPoint).join(', '),
        )
      : vscode.l10n.t('Its lines are removed from {0}; other remotes stay as they are.', config.path);
    const question = vscode.l10n.t('Remove the remote "{0}"?', name);
    if (!(await svc.ui.confirm(question, detail, vscode.l10n.t('Remove')))) return false;
    await config.removeRemote(name);
    await svc.expiry.set(config.path, name, undefined);
    svc.log.info(`Removed remote ${name} from ${config.path}.`);
    return true;
  } catch (e) {
    showFailure(svc, e, { remote: name });
    return false;
  }
}

function validName(v: string): string | undefined {
  try {
    checkRemoteName(v);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}
