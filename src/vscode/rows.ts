// How each kind of row of the Remotes view looks: label, icon, description, tooltip, and the
// contextValue the menus in package.json match. contextValues are whole words:
// `<kind>[.<mount state>][ filtered]`, e.g. `bucket`, `folder.stale`, `bucket.mounted filtered`;
// `folder.inMount` is a folder inside a mounted bucket (no Mount of its own: it is reachable through it).
// Labels stay short (the default side bar is narrow): the details are in the tooltips.
import { homedir } from 'node:os';
import { basename } from 'node:path';
import * as vscode from 'vscode';
import { type ErrorKind, isRcloneError, type RcloneError } from '../core/errors';
import { formatBytes } from '../core/files';
import { REMOTE_KINDS } from './failures';
import { alarmOf, credentialsOf, isBusy, type Shown, stateDetails, stateText, stateWord } from './mountState';
import { type Folder, MessageNode, type PathNode, type RemoteNode, type VersionNode, type VersionsNode } from './nodes';

const REMOTE_ICONS: Record<string, string> = {
  s3: 'cloud',
  b2: 'cloud',
  gcs: 'cloud',
  azureblob: 'cloud',
  swift: 'cloud',
  sftp: 'terminal',
  ftp: 'server',
  local: 'device-desktop',
  crypt: 'lock',
  drive: 'drive',
  onedrive: 'drive',
  webdav: 'globe',
  http: 'globe',
};

/** The mount state as the menus know it: a mount's own actions hang off these words. */
const MENU_STATE: Record<Shown['state'], string> = {
  mounted: 'mounted',
  stale: 'stale',
  'not answering': 'notAnswering',
  mounting: 'busy',
  copying: 'busy',
  unmounting: 'busy',
  repairing: 'busy',
  // a warming mount is up, and so is one whose app is starting: its actions stay
  warming: 'mounted',
  'starting app': 'mounted',
};

const withFilter = (value: string, filter: string | undefined) => (filter ? `${value} filtered` : value);

export function remoteItem(node: RemoteNode, filter: string | undefined): vscode.TreeItem {
  const { remote } = node;
  const item = new vscode.TreeItem(remote.name, vscode.TreeItemCollapsibleState.Collapsed);
  item.id = node.id;
  item.iconPath = new vscode.ThemeIcon(REMOTE_ICONS[remote.type] ?? 'cloud');
  const flavour = remote.provider ? `${remote.type} · ${remote.provider}` : remote.type;
  item.description = filter ? vscode.l10n.t('{0} · filter: {1}', flavour, filter) : flavour;
  const lines = [`**${remote.name}** — ${flavour}`];
  if (remote.endpoint) lines.push(vscode.l10n.t('Endpoint: {0}', remote.endpoint));
  if (remote.region) lines.push(vscode.l10n.t('Region: {0}', remote.region));
  lines.push(
    remote.source === 'env'
      ? vscode.l10n.t('Defined by RCLONE_CONFIG_* variables')
      : vscode.l10n.t('Defined in the rclone config file'),
  );
  item.tooltip = new vscode.MarkdownString(lines.join('\n\n'));
  item.contextValue = withFilter(`remote.${remote.source === 'env' ? 'env' : 'file'}`, filter);
  return item;
}

/** A file: opens from a live mount when one holds it (`local`). */
export function fileItem(node: PathNode, local: string | undefined): vscode.TreeItem {
  const item = new vscode.TreeItem(node.name, vscode.TreeItemCollapsibleState.None);
  item.id = node.id;
  item.iconPath = vscode.ThemeIcon.File;
  item.resourceUri = vscode.Uri.file(`/${node.name}`); // lets the file icon theme pick by name
  item.description = formatSize(node.size);
  if (local)
    item.command = { command: 'vscode.open', title: vscode.l10n.t('Open'), arguments: [vscode.Uri.file(local)] };
  item.tooltip = new vscode.MarkdownString(
    `**${node.location}**\n\n${vscode.l10n.t('File, {0}', formatSize(node.size))}`,
  );
  item.contextValue = 'file';
  return item;
}

/**
 * A mount point in the room a row has: at the default side bar width about 16 characters are left
 * after a bucket name like "index-tts-data", so "/mnt/models" stays whole and "/mnt/index-tts-storage"
 * becomes "…/index-tts-storage" (the full path is in the tooltip).
 */
function shortPath(path: string): string {
  const home = homedir();
  const p = path === home || path.startsWith(`${home}/`) ? `~${path.slice(home.length)}` : path;
  return p.length <= 16 ? p : `…/${basename(p)}`;
}

/**
 * A bucket or folder, with its mount (if it is mounted), the mount it is inside of (`above`, if a
 * folder that holds it is mounted), and its filter.
 */
export function folderItem(
  node: PathNode,
  mount: Shown | undefined,
  filter: string | undefined,
  above?: Shown,
): vscode.TreeItem {
  const item = new vscode.TreeItem(node.name, vscode.TreeItemCollapsibleState.Collapsed);
  item.id = node.id;
  const tips = [`**${node.location}**`, node.kind === 'bucket' ? vscode.l10n.t('Bucket') : vscode.l10n.t('Folder')];
  const descriptions: string[] = [];
  let context: string = node.kind;
  if (mount) {
    item.iconPath = mountIcon(mount);
    const text = stateText(mount);
    const where = shortPath(mount.mountPoint);
    descriptions.push(text === stateWord('mounted') ? where : `${where} · ${text}`);
    tips.push(vscode.l10n.t('Mounted on `{0}`', mount.mountPoint), ...stateDetails(mount));
    context = `${node.kind}.${MENU_STATE[mount.state]}`;
  } else {
    item.iconPath = node.kind === 'bucket' ? new vscode.ThemeIcon('database') : vscode.ThemeIcon.Folder;
    if (above) {
      tips.push(vscode.l10n.t('Inside the mount on `{0}`', above.mountPoint));
      context = `${node.kind}.inMount`;
    }
  }
  if (filter) descriptions.push(vscode.l10n.t('filter: {0}', filter));
  item.description = descriptions.join(' · ') || undefined;
  item.tooltip = new vscode.MarkdownString(tips.join('\n\n'));
  item.contextValue = withFilter(context, filter);
  return item;
}

function mountIcon(mount: Shown): vscode.ThemeIcon {
  const alarm = alarmOf(mount);
  if (isBusy(mount)) return new vscode.ThemeIcon('sync~spin');
  if (alarm === 'error') return new vscode.ThemeIcon('error', new vscode.ThemeColor('errorForeground'));
  const warning = new vscode.ThemeColor('list.warningForeground');
  if (mount.state === 'not answering') return new vscode.ThemeIcon('watch', warning);
  // stale, or running on credentials the endpoint no longer takes: either way nothing can be read
  if (mount.state === 'stale' || credentialsOf(mount)) return new vscode.ThemeIcon('warning', warning);
  return new vscode.ThemeIcon('pass-filled', new vscode.ThemeColor('testing.iconPassed'));
}

/** The "Model versions" group of a live mount, saying which one the workspace link points at. */
export function versionsItem(node: VersionsNode, linked: string | undefined): vscode.TreeItem {
  const item = new vscode.TreeItem(
    node.local ? vscode.l10n.t('Local copies') : vscode.l10n.t('Model versions'),
    vscode.TreeItemCollapsibleState.Expanded,
  );
  item.id = node.id;
  item.iconPath = new vscode.ThemeIcon(node.local ? 'file-symlink-directory' : 'versions');
  item.description = linked ? vscode.l10n.t('linked: {0}', linked) : undefined;
  item.tooltip = new vscode.MarkdownString(
    node.local
      ? vscode.l10n.t(
          "Whole copies of this bucket's versions in `{0}` (copy mode). The workspace's link points at one of them; **Link** switches it atomically, **Roll Back** returns to the previous one.",
          node.mountPoint,
        )
      : vscode.l10n.t(
          "Folders of `{0}` that match `rclone.versionPattern`. The workspace's link points at one of them; **Link** switches it atomically, **Roll Back** returns to the previous one.",
          node.mountPoint,
        ),
  );
  item.contextValue = 'versions';
  return item;
}

/** A model version; the linked one says so (and by which link: `label`, as linkLabel() puts it, "./cache_hub"). */
export function versionItem(node: VersionNode, label: string | undefined): vscode.TreeItem {
  const item = new vscode.TreeItem(node.name, vscode.TreeItemCollapsibleState.None);
  item.id = node.id;
  item.iconPath = new vscode.ThemeIcon(node.linked ? 'link' : 'folder-library');
  const as = label ?? vscode.l10n.t('the link');
  const size = node.bytes === undefined ? undefined : formatBytes(node.bytes);
  item.description = node.linked ? (size ? `← ${as} · ${size}` : `← ${as}`) : size;
  item.tooltip = new vscode.MarkdownString(
    `\`${node.path}\`\n\n${node.linked ? vscode.l10n.t('{0} points here', as) : vscode.l10n.t('Link makes {0} point here', as)}`,
  );
  item.contextValue = node.linked ? 'version.linked' : 'version';
  return item;
}

export function messageItem(node: MessageNode): vscode.TreeItem {
  const item = new vscode.TreeItem(node.label, vscode.TreeItemCollapsibleState.None);
  item.id = node.id;
  const error = node.icon === 'error';
  item.iconPath = new vscode.ThemeIcon(node.icon, error ? new vscode.ThemeColor('errorForeground') : undefined);
  item.command = node.command;
  item.tooltip = node.tooltip;
  item.contextValue = error ? 'error' : 'message';
  return item;
}

/** What an error row says in the few words a side bar has room for; the whole message is its tooltip. */
function shortText(kind: ErrorKind): string | undefined {
  switch (kind) {
    case 'RcloneMissing':
      return vscode.l10n.t('rclone not found');
    case 'RcloneTooOld':
      return vscode.l10n.t('rclone too old');
    case 'RemoteNotFound':
      return vscode.l10n.t('No such remote');
    case 'CredentialsExpired':
      return vscode.l10n.t('Credentials expired');
    case 'AuthFailed':
      return vscode.l10n.t('Credentials refused');
    case 'BucketNotFound':
      return vscode.l10n.t('No such bucket');
    case 'NotFound':
      return vscode.l10n.t('Not found');
    case 'PermissionDenied':
      return vscode.l10n.t('Permission denied');
    case 'Unreachable':
      return vscode.l10n.t('Endpoint unreachable');
    case 'Timeout':
      return vscode.l10n.t('No answer in time');
    case 'TlsError':
      return vscode.l10n.t('TLS failed');
    case 'CaBundle':
      return vscode.l10n.t('CA bundle unusable');
    case 'ConfigInvalid':
      return vscode.l10n.t('Config unreadable');
    default:
      return undefined;
  }
}

/** The row a failed listing leaves in its folder: a few words and the action that fixes it; the rest in its tooltip. */
export function errorRow(folder: Folder, e: unknown): MessageNode {
  const remote = folder.kind === 'remote' ? folder.remote.name : folder.remote;
  if (!isRcloneError(e))
    return new MessageNode(
      folder,
      vscode.l10n.t('Listing failed — Show Log'),
      { command: 'rclone.showLog', title: vscode.l10n.t('Show Log') },
      'error',
      (e as Error).message,
    );
  const action = rowAction(e, remote);
  const tooltip = [e.message, e.fix, e.detail].filter(Boolean).join('\n\n');
  return new MessageNode(
    folder,
    `${shortText(e.kind) ?? vscode.l10n.t('Listing failed')} — ${action.title}`,
    action,
    'error',
    tooltip,
  );
}

function rowAction(e: RcloneError, remote: string): vscode.Command {
  if (REMOTE_KINDS.has(e.kind))
    return { command: 'rclone.editRemote', title: vscode.l10n.t('Edit Remote…'), arguments: [remote] };
  if (e.kind === 'RcloneMissing' || e.kind === 'RcloneTooOld')
    return { command: 'rclone.installRclone', title: vscode.l10n.t('Install rclone') };
  // A bucket or folder deleted since the tree listed it: listing its parent again drops its row.
  if (e.kind === 'BucketNotFound' || e.kind === 'NotFound')
    return { command: 'rclone.refresh', title: vscode.l10n.t('Refresh') };
  return { command: 'rclone.showLog', title: vscode.l10n.t('Show Log') };
}

/** A file's size, or nothing when unknown (-1). */
const formatSize = (bytes: number) => (bytes < 0 ? '' : formatBytes(bytes));
