// Add Remote (a few questions for S3-compatible providers), Edit Remote, Remove Remote.
// The secret key is typed into a password box, scrubbed from the log, and written to rclone.conf
// by core (never on any argv). A new or edited remote is tried at once by listing its buckets.
import * as vscode from 'vscode';
import { checkRemoteName, type Remote } from '../core/config';
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

const TOTAL = 5;

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
      title: `${vscode.l10n.t('Add Remote')} (1/${TOTAL})`,
      prompt: vscode.l10n.t('A name for the remote, used as name:bucket'),
      placeHolder: 'compshare',
      validateInput: (v) => (existing.has(v) ? vscode.l10n.t('There is already a remote "{0}".', v) : validName(v)),
    });
    if (!name) return undefined;
    const flavour = await ui.pick(
      providers().map((p) => ({ ...p, description: p.provider })),
      {
        title: `${vscode.l10n.t('Add Remote')} (2/${TOTAL})`,
        placeHolder: vscode.l10n.t('Which S3-compatible service?'),
      },
    );
    if (!flavour) return undefined;
    const values = await askConnection(svc, flavour, vscode.l10n.t('Add Remote'), undefined);
    if (!values) return undefined;
    await save(svc, name, { provider: flavour.provider, ...values }, 'Added');
    return name;
  } catch (e) {
    showFailure(svc, e);
    return undefined;
  }
}

/** Endpoint (or region), access key ID and secret key. In an edit, an empty key keeps the old one. */
async function askConnection(
  svc: Services,
  p: Provider,
  title: string,
  current: Remote | undefined,
): Promise<Record<string, string | undefined> | undefined> {
  const { ui } = svc;
  const values: Record<string, string | undefined> = {};
  if (p.regionHint) {
    const region = await ui.input({
      title: `${title} (3/${TOTAL})`,
      prompt: vscode.l10n.t('AWS region of the buckets'),
      value: current?.region ?? p.regionHint,
    });
    if (region === undefined) return undefined;
    values.region = region.trim() || undefined;
  } else {
    const endpoint = await ui.input({
      title: `${title} (3/${TOTAL})`,
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
  const keyId = await ui.input({
    title: `${title} (4/${TOTAL})`,
    prompt: current ? vscode.l10n.t('Access key ID (empty: keep the current one)') : vscode.l10n.t('Access key ID'),
    ignoreFocusOut: true,
    validateInput: (v) => (v.trim() || current ? undefined : vscode.l10n.t('Required')),
  });
  if (keyId === undefined) return undefined;
  const secret = await ui.input({
    title: `${title} (5/${TOTAL})`,
    prompt: current
      ? vscode.l10n.t('Secret access key (empty: keep the current one)')
      : vscode.l10n.t('Secret access key'),
    password: true,
    validateInput: (v) => (v || current ? undefined : vscode.l10n.t('Required')),
  });
  if (secret === undefined) return undefined;
  svc.log.forget(secret);
  if (keyId.trim()) values.access_key_id = keyId.trim();
  if (secret) values.secret_access_key = secret;
  return values;
}

async function save(
  svc: Services,
  name: string,
  values: Record<string, string | undefined>,
  verb: 'Added' | 'Updated',
): Promise<void> {
  const config = await svc.config();
  await config.setRemote(name, 's3', values);
  svc.log.info(`${verb} remote ${name} in ${config.path}.`);
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
    const values = await askConnection(svc, flavour, vscode.l10n.t('Edit {0}', name), remote);
    if (values) await save(svc, name, values, 'Updated');
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
