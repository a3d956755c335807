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
import { plural } from './mountState';
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

const PROVIDERS: readonly Provider[] = [
  { label: 'AWS S3', provider: 'AWS', regionHint: 'us-east-1' },
  {
    label: 'CompShare / UCloud US3',
    provider: 'Other',
    endpointHint: 'https://… (the S3 endpoint shown in the CompShare or UCloud console)',
  },
  { label: 'Aliyun OSS', provider: 'Alibaba', endpointHint: 'oss-cn-hangzhou.aliyuncs.com' },
  { label: 'Tencent COS', provider: 'TencentCOS', endpointHint: 'cos.ap-guangzhou.myqcloud.com' },
  { label: 'MinIO', provider: 'Minio', endpointHint: 'http://127.0.0.1:9000' },
  { label: 'Other S3-compatible', provider: 'Other', endpointHint: 'https://s3.example.com' },
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
      title: `Add Remote (1/${TOTAL})`,
      prompt: 'A name for the remote, used as name:bucket',
      placeHolder: 'compshare',
      validateInput: (v) => (existing.has(v) ? `There is already a remote "${v}".` : validName(v)),
    });
    if (!name) return undefined;
    const flavour = await ui.pick(
      PROVIDERS.map((p) => ({ ...p, description: p.provider })),
      { title: `Add Remote (2/${TOTAL})`, placeHolder: 'Which S3-compatible service?' },
    );
    if (!flavour) return undefined;
    const values = await askConnection(svc, flavour, `Add Remote`, undefined);
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
      prompt: 'AWS region of the buckets',
      value: current?.region ?? p.regionHint,
    });
    if (region === undefined) return undefined;
    values.region = region.trim() || undefined;
  } else {
    const endpoint = await ui.input({
      title: `${title} (3/${TOTAL})`,
      prompt: 'Endpoint URL of the S3 API',
      placeHolder: p.endpointHint,
      value: current?.endpoint,
      validateInput: (v) =>
        v.trim() && !/\s/.test(v.trim()) ? undefined : 'Give the endpoint, e.g. ' + p.endpointHint,
    });
    if (endpoint === undefined) return undefined;
    values.endpoint = endpoint.trim();
  }
  const keep = current ? ' (empty: keep the current one)' : '';
  const keyId = await ui.input({
    title: `${title} (4/${TOTAL})`,
    prompt: `Access key ID${keep}`,
    ignoreFocusOut: true,
    validateInput: (v) => (v.trim() || current ? undefined : 'Required'),
  });
  if (keyId === undefined) return undefined;
  const secret = await ui.input({
    title: `${title} (5/${TOTAL})`,
    prompt: `Secret access key${keep}`,
    password: true,
    validateInput: (v) => (v || current ? undefined : 'Required'),
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
      { location: vscode.ProgressLocation.Notification, title: `Trying ${name}…`, cancellable: true },
      async (_p, token) => listBuckets(await svc.rclone(), name, { timeoutMs: 30_000, signal: abortOn(token) }),
    );
    svc.ui.notify('info', `${verb} remote ${name}: ${plural(buckets.length, 'bucket')} found.`, [
      { title: 'Show Remotes', run: () => vscode.commands.executeCommand('rclone.remotes.focus') },
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
        { title: 'Edit Remote' },
      )
    )?.label;
    const remote = remotes.find((r) => r.name === name);
    if (!name) return;
    if (!remote) throw new RcloneError('RemoteNotFound', `There is no remote "${name}" in ${config.path}.`);
    if (remote.type !== 's3') {
      await vscode.window.showTextDocument(vscode.Uri.file(config.path));
      return;
    }
    const flavour = PROVIDERS.find((p) => p.provider === remote.provider) ?? PROVIDERS[PROVIDERS.length - 1]!;
    const values = await askConnection(svc, flavour, `Edit ${name}`, remote);
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
        { title: 'Remove Remote' },
      )
    )?.label;
    if (!name) return false;
    const mounted = svc.registry.mounts.filter((m) => m.remote.startsWith(`${name}:`));
    const detail = `Its lines are removed from ${config.path}; other remotes stay as they are.${mounted.length ? ` It is still mounted on ${mounted.map((m) => m.mountPoint).join(', ')}; those mounts keep running.` : ''}`;
    if (!(await svc.ui.confirm(`Remove the remote "${name}"?`, detail, 'Remove'))) return false;
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
