// The "Remotes" view: remote → bucket → folder → file, listed lazily, a page at a time.
// Rows are the classes of nodes.ts, drawn by rows.ts; ids are the rclone location (a folder's with
// a "/" after it), so a refresh keeps what was expanded.
// Each folder keeps its listing: Load more reads on from where the page ended; Refresh, a filter
// or collapsing the folder stops it (killing its rclone) and lists again. A listing shows the
// view's progress bar; one that takes long (a slow endpoint) also gets a notification counting what
// has come so far, whose Cancel stops it. Mount state changes repaint rows without listing again.
import * as vscode from 'vscode';
import type { Remote } from '../core/config';
import { isRcloneError } from '../core/errors';
import { type Entry, hasListR, type Page, Pager, type PagerSource, streamFolder } from '../core/listing';
import { showFailure } from './failures';
import { linkLabel } from './models';
import { localPath, mountAbove, mountAt, type Shown } from './mountState';
import { globToRegExp, listVersions } from '../core/link';
import { copyRootOf, listLocalVersions } from '../core/localCopy';
import { sameRemote } from './settings';
import {
  type Folder,
  folderOf,
  isBucketRemote,
  MessageNode,
  type Node,
  PathNode,
  RemoteNode,
  VersionNode,
  VersionsNode,
} from './nodes';
import { errorRow, fileItem, folderItem, messageItem, remoteItem, versionItem, versionsItem } from './rows';
import type { Services } from './services';

export const VIEW_ID = 'rclone.remotes';
const LISTING_TIMEOUT_MS = 60_000;
/** A listing still running after this long gets a notification with a count and Cancel. */
const SLOW_LISTING_MS = 1_500;

interface FolderState {
  /** Entries shown: a page, and another one per "Load more". */
  limit: number;
  filter?: string;
  /** Ids of rows shown even when beyond the page: the steps of a "Go to path". */
  pinned: Set<string>;
  /** The folder's listing, read on by "Load more"; stopped and dropped to list again. */
  pager?: Pager;
  /** Collapsed in the view: a listing stopped then is not started again until the view asks. */
  collapsed?: boolean;
  /** Cancelled by the user: the folder says so, and lists again only when asked (a click, Refresh). */
  cancelled?: boolean;
  /** Entries the running listing has read so far, for its progress. */
  seen: number;
}

export class RemotesTree implements vscode.TreeDataProvider<Node>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<Node | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly nodes = new Map<string, Node>();
  private readonly folders = new Map<string, FolderState>();
  private readonly listR = new Map<string, Promise<boolean>>();
  /** The mount state each row was last drawn with. */
  private readonly painted = new Map<string, string>();
  private remotes: Promise<Remote[]> | undefined;
  private disposed = false;
  private readonly subscriptions: vscode.Disposable[];

  constructor(private readonly svc: Services) {
    this.subscriptions = [
      this.changed,
      svc.onDidChangeRemotes(() => this.refresh()),
      svc.registry.onDidChange(() => this.repaintMounts()),
      svc.onDidChangeBusy(() => this.repaintMounts()),
      svc.settings.onDidChange(() => this.refresh()),
      svc.models.onDidChange(() => this.repaintVersions()),
    ];
  }

  /**
   * The link moved or a mount warmed: the version groups are drawn again (their rows are cheap),
   * and in copy mode the rows of the buckets that copy (a first local copy adds their group).
   */
  private repaintVersions(): void {
    const copying = this.svc.settings.profiles.filter((p) => p.mode === 'copy' || p.mode === 'auto');
    for (const n of this.nodes.values()) {
      if (n instanceof VersionsNode) this.changed.fire(n);
      else if (n instanceof PathNode && copying.some((p) => sameRemote(p.remote, n.location))) this.changed.fire(n);
    }
  }

  /** Lists everything again (keeps expansion: ids are stable); listings in flight are stopped. */
  refresh(node?: Folder): void {
    if (!node) {
      this.remotes = undefined;
      this.listR.clear();
      for (const state of this.folders.values()) listAgain(state);
    } else listAgain(this.state(node));
    this.changed.fire(node);
  }

  /** Stops the folder's listing (its rclone is killed at once); the folder shows "Listing cancelled". */
  cancel(folder: Folder): void {
    const s = this.state(folder);
    if (!s.pager) return;
    s.cancelled = true;
    stopListing(s);
  }

  /** A collapsed folder stops its listing, so no rclone runs for rows nobody sees; expanding lists again. */
  collapsed(node: Node): void {
    const folder = folderOf(node);
    const s = folder && this.folders.get(folder.id);
    if (!s?.pager) return;
    s.collapsed = true;
    this.refresh(folder);
  }

  /** Repaints the rows whose mount state changed, without listing again. */
  private repaintMounts(): void {
    for (const n of this.nodes.values()) {
      if (!(n instanceof PathNode) || n.kind === 'file') continue;
      if ((this.painted.get(n.id) ?? '') !== this.mountsOf(n).painted) this.changed.fire(n);
    }
  }

  /** A folder row's own mount, or else the mount of a folder that holds it; and both as one comparable string. */
  private mountsOf(n: PathNode): { mount?: Shown; above?: Shown; painted: string } {
    const mount = mountAt(this.svc, n.location);
    const above = mount ? undefined : mountAbove(this.svc, n.location);
    return { mount, above, painted: `${paintedAs(mount)}|${above?.mountPoint ?? ''}` };
  }

  state(folder: Folder): FolderState {
    let s = this.folders.get(folder.id);
    if (!s) this.folders.set(folder.id, (s = { limit: this.svc.settings.pageSize, pinned: new Set(), seen: 0 }));
    return s;
  }

  /** Shows another page, read on from the folder's running listing. */
  loadMore(folder: Folder): void {
    this.state(folder).limit += this.svc.settings.pageSize;
    this.changed.fire(folder);
  }

  setFilter(folder: Folder, filter: string | undefined): void {
    const s = this.state(folder);
    s.filter = filter || undefined;
    s.limit = this.svc.settings.pageSize;
    this.refresh(folder);
  }

  /** The same object for the same id, so the view (and reveal) can match rows to nodes. */
  private intern<T extends Node>(node: T): T {
    const known = this.nodes.get(node.id);
    if (known instanceof PathNode && node instanceof PathNode && known.kind === node.kind) {
      known.size = node.size; // the object may have changed since: a Refresh shows its size now
      return known as T;
    }
    // an edit of the remote changes its tooltip: a new node then
    if (
      known instanceof RemoteNode &&
      node instanceof RemoteNode &&
      JSON.stringify(known.remote) === JSON.stringify(node.remote)
    )
      return known as T;
    this.nodes.set(node.id, node);
    return node;
  }

  node(remote: Remote): RemoteNode;
  node(parent: Folder, entry: { path: string; kind: PathNode['kind']; size?: number }): PathNode;
  node(a: Remote | Folder, entry?: { path: string; kind: PathNode['kind']; size?: number }): Node {
    if (!entry) return this.intern(new RemoteNode(a as Remote));
    const parent = a as Folder;
    const remote = parent instanceof RemoteNode ? parent.remote.name : parent.remote;
    return this.intern(new PathNode(parent, remote, entry.path, entry.kind, entry.size));
  }

  getParent(node: Node): Node | undefined {
    return node.parent;
  }

  async getChildren(node?: Node): Promise<Node[]> {
    if (!node) return this.roots();
    if (
      node instanceof MessageNode ||
      node instanceof VersionNode ||
      (node instanceof PathNode && node.kind === 'file')
    )
      return [];
    if (node instanceof VersionsNode) return this.versions(node);
    try {
      const rows = await this.folderChildren(node);
      const group = node instanceof PathNode ? await this.versionsGroup(node) : undefined;
      return group ? [group, ...rows] : rows;
    } catch (e) {
      stopListing(this.state(node)); // expanding again tries again
      return [errorRow(node, e)];
    }
  }

  /**
   * "Model versions" under the row of a live mount's root, when the mount has any; "Local copies"
   * under the row a copy-mode profile names, when it has some.
   */
  private async versionsGroup(node: PathNode): Promise<VersionsNode | undefined> {
    const mount = mountAt(this.svc, node.location);
    if (mount?.mount?.state !== 'mounted') return this.localGroup(node);
    const found = await listVersions(mount.mountPoint, { pattern: this.svc.settings.versionPattern }).catch(() => []);
    if (!found.length) return undefined;
    return this.keep(new VersionsNode(node, mount.mountPoint));
  }

  private async localGroup(node: PathNode): Promise<VersionsNode | undefined> {
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    const profile = this.svc.settings.profiles.find(
      (p) => (p.mode === 'copy' || p.mode === 'auto') && sameRemote(p.remote, node.location),
    );
    if (!folder || !profile) return undefined;
    const root = copyRootOf(profile, folder);
    const match = globToRegExp(this.svc.settings.versionPattern);
    const found = (await listLocalVersions(root)).filter((v) => !v.partial && match.test(v.name));
    return found.length ? this.keep(new VersionsNode(node, root, true)) : undefined;
  }

  private async versions(group: VersionsNode): Promise<Node[]> {
    if (group.local) {
      const match = globToRegExp(this.svc.settings.versionPattern);
      const link = this.svc.linkPath();
      const found = await listLocalVersions(group.mountPoint, link ? [link] : []);
      return found
        .filter((v) => !v.partial && match.test(v.name))
        .map((v) => this.keep(new VersionNode(group, v.name, v.path, v.linked, v.bytes)));
    }
    try {
      const found = await listVersions(group.mountPoint, {
        pattern: this.svc.settings.versionPattern,
        link: this.svc.linkPath(),
      });
      return found.map((v) => this.keep(new VersionNode(group, v.name, v.path, v.linked)));
    } catch (e) {
      return [
        new MessageNode(
          group.parent,
          vscode.l10n.t('Versions unreadable: {0}', (e as Error).message),
          undefined,
          'error',
        ),
      ];
    }
  }

  /** Version rows are kept by id, so reveal and the tests find the same objects a repaint drew. */
  private keep<T extends VersionsNode | VersionNode>(node: T): T {
    const known = this.nodes.get(node.id);
    if (known instanceof VersionsNode && node instanceof VersionsNode && known.mountPoint === node.mountPoint)
      return known as T;
    this.nodes.set(node.id, node);
    return node;
  }

  private async roots(): Promise<Node[]> {
    try {
      this.remotes ??= this.svc.config().then((c) => c.remotes());
      const remotes = await this.remotes;
      await this.svc.setViewState(remotes.length ? 'ready' : 'noRemotes');
      return remotes.map((r) => this.node(r));
    } catch (e) {
      this.remotes = undefined;
      if (isRcloneError(e, 'RcloneMissing') || isRcloneError(e, 'RcloneTooOld')) {
        await this.svc.setViewState('missing');
        return [];
      }
      showFailure(this.svc, e);
      return [];
    }
  }

  private async folderChildren(folder: Folder): Promise<Node[]> {
    const s = this.state(folder);
    s.collapsed = false;
    if (s.cancelled) return [cancelledRow(folder)]; // until asked again: a repaint must not list
    if (!s.pager) s.seen = 0;
    const pager = (s.pager ??= this.pager(folder, s.filter));
    let page: Page;
    try {
      page = await this.watched(folder, s, pager.page(s.limit));
    } catch (e) {
      if (s.pager === pager) throw e;
      // Stopped on purpose: by Cancel, which says so; by a Refresh, which lists again; or by a
      // collapse (or the end), which does not.
      if (s.cancelled) return [cancelledRow(folder)];
      return s.collapsed || this.disposed ? [] : this.folderChildren(folder);
    }
    const { entries, more } = page;
    const base = folder instanceof RemoteNode ? '' : `${folder.path}/`;
    const rows: Node[] = entries.map((e) =>
      this.node(folder, {
        path: base + e.name,
        kind:
          e.isBucket || (folder instanceof RemoteNode && e.isDir && isBucketRemote(folder))
            ? 'bucket'
            : e.isDir
              ? 'folder'
              : 'file',
        size: e.size,
      }),
    );
    for (const id of s.pinned) {
      const pinned = this.nodes.get(id);
      if (pinned && !rows.includes(pinned)) rows.push(pinned);
    }
    if (more)
      rows.push(
        new MessageNode(
          folder,
          vscode.l10n.t('Load more…'),
          { command: 'rclone.loadMore', title: vscode.l10n.t('Load more'), arguments: [folder] },
          'ellipsis',
          vscode.l10n.t('Shows the next {0} entries', this.svc.settings.pageSize),
        ),
      );
    if (!rows.length)
      rows.push(
        new MessageNode(
          folder,
          s.filter ? vscode.l10n.t('No names contain "{0}"', s.filter) : vscode.l10n.t('Empty'),
          undefined,
          s.filter ? 'filter' : 'info',
        ),
      );
    return rows;
  }

  /**
   * Shows a listing's progress: the view's progress bar at once, and when it takes long a
   * notification with the number of entries read so far and a Cancel that stops it.
   */
  private watched<T>(folder: Folder, s: FolderState, listing: Promise<T>): Promise<T> {
    const slow = setTimeout(() => {
      void vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, cancellable: true },
        async (progress, token) => {
          token.onCancellationRequested(() => this.cancel(folder));
          const say = () =>
            progress.report({
              // No title: VS Code would join it with a colon, and a remote's location ends in one.
              message: vscode.l10n.t(
                'Listing {0} ({1})',
                folder.location,
                s.seen
                  ? vscode.l10n.t('{0} entries so far', s.seen.toLocaleString('en-US'))
                  : vscode.l10n.t('waiting for the endpoint…'),
              ),
            });
          say();
          const tick = setInterval(say, 250);
          await listing.catch(() => undefined).finally(() => clearInterval(tick));
        },
      );
    }, SLOW_LISTING_MS);
    return Promise.resolve(vscode.window.withProgress({ location: { viewId: VIEW_ID } }, () => listing)).finally(() =>
      clearTimeout(slow),
    );
  }

  /** The folder's entries that match the filter, a page at a time. */
  private pager(folder: Folder, filter: string | undefined): Pager {
    const needle = filter?.toLocaleLowerCase();
    return new Pager((opts) => this.entries(folder, opts), {
      timeoutMs: LISTING_TIMEOUT_MS,
      keep: needle ? (e) => e.name.toLocaleLowerCase().includes(needle) : undefined,
    });
  }

  /** The folder's entries as they arrive: from rclone's ListR pages where the backend has them. */
  private async *entries(folder: Folder, opts: Parameters<PagerSource>[0]): AsyncGenerator<Entry> {
    const rclone = await this.svc.rclone();
    const remote = folder instanceof RemoteNode ? folder.remote.name : folder.remote;
    let listR = this.listR.get(remote);
    if (!listR) this.listR.set(remote, (listR = hasListR(rclone, remote).catch(() => false)));
    const s = this.state(folder);
    for await (const entry of streamFolder(rclone, folder.location, {
      ...opts,
      listR: folder instanceof PathNode && (await listR),
    })) {
      s.seen++;
      yield entry;
    }
  }

  getTreeItem(node: Node): vscode.TreeItem {
    if (node instanceof MessageNode) return messageItem(node);
    if (node instanceof VersionsNode) return versionsItem(node, this.svc.models.linkedIn(node.mountPoint));
    if (node instanceof VersionNode) return versionItem(node, this.svc.linkPath() && linkLabel(this.svc));
    const filter = this.folders.get(node.id)?.filter;
    if (node instanceof RemoteNode) return remoteItem(node, filter);
    if (node.kind === 'file') return fileItem(node, localPath(this.svc, node.location));
    const { mount, above, painted } = this.mountsOf(node);
    this.painted.set(node.id, painted);
    return folderItem(node, mount, filter, above);
  }

  dispose(): void {
    this.disposed = true;
    for (const state of this.folders.values()) stopListing(state);
    vscode.Disposable.from(...this.subscriptions).dispose();
  }
}

/** Stops a folder's listing (its rclone is killed at once) and forgets it: the next look lists anew. */
function stopListing(s: FolderState): void {
  s.pager?.stop();
  s.pager = undefined;
}

/** Stops a folder's listing, and forgets a cancel: the next look lists anew. */
function listAgain(s: FolderState): void {
  s.cancelled = false;
  stopListing(s);
}

/** What a folder shows after its listing was cancelled: a click lists it again. */
const cancelledRow = (folder: Folder) =>
  new MessageNode(
    folder,
    vscode.l10n.t('Listing cancelled'),
    { command: 'rclone.refresh', title: vscode.l10n.t('List again'), arguments: [folder] },
    'debug-pause',
    vscode.l10n.t('Click to list this folder again'),
  );

/** What a row shows of its mount, as one comparable string. */
const paintedAs = (shown: Shown | undefined) => {
  const m = shown?.mount;
  return shown
    ? JSON.stringify([
        shown.state,
        shown.mountPoint,
        shown.pendingUploads,
        m?.outOfSpace,
        m?.erroredFiles,
        shown.progress,
      ])
    : '';
};
