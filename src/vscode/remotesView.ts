// The Remotes view and its own commands: Refresh, Load more, Filter, Go to path, Copy path.
import * as vscode from 'vscode';
import { isRcloneError, RcloneError } from '../core/errors';
import { listFolder, notFound } from '../core/listing';
import { command } from './commands';
import { showFailure } from './failures';
import { localPath } from './mountState';
import { folderOf, isBucketRemote, type Node, PathNode, RemoteNode } from './nodes';
import type { Services } from './services';
import { RemotesTree, VIEW_ID } from './tree';

/** The view and its tree, for the integration tests; disposing it disposes both and the commands. */
export interface RemotesView extends vscode.Disposable {
  tree: RemotesTree;
  view: vscode.TreeView<Node>;
}

export function register(svc: Services): RemotesView {
  const tree = new RemotesTree(svc);
  const view = vscode.window.createTreeView(VIEW_ID, { treeDataProvider: tree, showCollapseAll: true });
  /** Aborted when the view goes: a Go to Path listing still running then stops with it. */
  const closing = new AbortController();

  /** Opens the tree at `target` ("remote:bucket/deep/path"), whatever page its steps are on. */
  async function goToPath(target: string): Promise<Node | undefined> {
    const colon = target.indexOf(':');
    const name = target.slice(0, colon);
    const remote = (await (await svc.config()).remotes()).find((r) => r.name === name);
    // Looked up, not checked against our naming rule: a newer rclone may have made it with + or @.
    if (!remote) throw new RcloneError('RemoteNotFound', vscode.l10n.t('There is no remote "{0}".', name));
    const steps = target
      .slice(colon + 1)
      .split('/')
      .filter(Boolean);
    let node: RemoteNode | PathNode = tree.node(remote);
    if (steps.length) {
      // One listing of the target says whether it exists, and whether it is a file.
      const page = await listFolder(await svc.rclone(), target.replace(/\/+$/, ''), {
        limit: 2,
        timeoutMs: 30_000,
        signal: closing.signal,
      });
      const last = steps[steps.length - 1]!;
      const isFile = page.entries.length === 1 && !page.entries[0]!.isDir && page.entries[0]!.name === last;
      if (!page.entries.length) throw notFound(target);
      for (let i = 0; i < steps.length; i++) {
        const kind =
          i === steps.length - 1 && isFile ? 'file' : i === 0 && isBucketRemote(remote) ? 'bucket' : 'folder';
        const size = kind === 'file' ? page.entries[0]!.size : -1;
        const child: PathNode = tree.node(node, { path: steps.slice(0, i + 1).join('/'), kind, size });
        tree.state(node).pinned.add(child.id);
        node = child;
      }
    }
    tree.refresh();
    await view.reveal(node, { select: true, focus: true, expand: true });
    return node;
  }

  const disposables = vscode.Disposable.from(
    tree,
    view,
    { dispose: () => closing.abort() },
    view.onDidCollapseElement((e) => tree.collapsed(e.element)),
    /** Everything (the view's button), or one folder (its "Listing cancelled" row). */
    command(svc, 'rclone.refresh', async (n?: Node) => {
      const folder = folderOf(n);
      if (folder) return tree.refresh(folder);
      tree.refresh();
      await svc.registry.refresh();
    }),
    command(svc, 'rclone.loadMore', (folder: Node) => {
      const f = folderOf(folder);
      if (f) tree.loadMore(f);
    }),
    command(svc, 'rclone.filter', async (n?: Node) => {
      const folder = folderOf(n ?? view.selection[0]);
      if (!folder) return;
      const filter = await svc.ui.input({
        title: vscode.l10n.t('Filter {0}', folder.location),
        prompt: vscode.l10n.t('Show only names that contain this text (case-insensitive). Empty: show all.'),
        value: tree.state(folder).filter,
      });
      if (filter !== undefined) tree.setFilter(folder, filter);
    }),
    command(svc, 'rclone.clearFilter', (n?: Node) => {
      const folder = folderOf(n ?? view.selection[0]);
      if (folder) tree.setFilter(folder, undefined);
    }),
    /** Goes to `given`, or asks for a path (with `typed` in the box: a path that was not found, to correct). */
    command(svc, 'rclone.goToPath', async (given?: string, typed?: string) => {
      const target =
        typeof given === 'string'
          ? given
          : await svc.ui.input({
              title: vscode.l10n.t('Go to Path'),
              prompt: 'remote:bucket/some/deep/path',
              placeHolder: 'compshare:index-tts-data/cache_hub',
              value: typed,
              validateInput: (v) => (/^[^:/]+:/.test(v) ? undefined : vscode.l10n.t('Write it as remote:bucket/path')),
            });
      if (!target) return undefined;
      try {
        return await vscode.window.withProgress(
          { location: { viewId: VIEW_ID }, title: vscode.l10n.t('Opening {0}', target) },
          () => goToPath(target),
        );
      } catch (e) {
        // A path that is not there is a typo to fix (or gone): the path is asked for again.
        const missing = isRcloneError(e, 'NotFound') || isRcloneError(e, 'BucketNotFound');
        const again = {
          title: vscode.l10n.t('Go to Path…'),
          run: () => vscode.commands.executeCommand('rclone.goToPath', undefined, target),
        };
        showFailure(svc, e, { remote: target.slice(0, target.indexOf(':')) }, missing ? [again] : []);
        return undefined;
      }
    }),
    command(svc, 'rclone.copyPath', async (n?: Node) => {
      const node = n ?? view.selection[0];
      if (!(node instanceof PathNode) && !(node instanceof RemoteNode)) return;
      const text = localPath(svc, node.location) ?? node.location;
      await vscode.env.clipboard.writeText(text);
      vscode.window.setStatusBarMessage(vscode.l10n.t('Copied {0}', text), 3_000);
    }),
  );
  return { tree, view, dispose: () => disposables.dispose() };
}
