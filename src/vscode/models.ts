// What the tree and the status bar show of the model folder: where the workspace's link
// (./cache_hub) points, and until when each mount's listings stay warm. Read from the link itself
// and from the warm records every window and the CLI share; re-read when mounts change, when the
// link changes on disk (a relink from the CLI or another window), and after our own operations.
import { dirname, join, relative } from 'node:path';
import * as vscode from 'vscode';
import { inspectLink, type LinkInfo } from '../core/link';
import { copyRootsOf, type LinkedCopy, linkedCopy } from '../core/localCopy';
import { type Warmth, warmth } from '../core/prewarm';
import type { Services } from './services';

export class ModelState implements vscode.Disposable {
  /** The workspace's model link, as last read (undefined: no workspace folder). */
  link: LinkInfo | undefined;
  /** Copy mode: the local copy the link points at (its version and size), if it does. */
  copy: LinkedCopy | undefined;
  private readonly warm = new Map<string, Warmth[]>();
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  private readonly subscriptions: vscode.Disposable[] = [this.changed];
  private reading: Promise<void> | undefined;
  private again = false;
  private fingerprint = '';
  /** The link path watched, and its watcher. */
  private watched: string | undefined;
  private watcher: vscode.Disposable | undefined;

  constructor(private readonly svc: Services) {
    this.subscriptions.push(
      svc.registry.onDidChange(() => void this.refresh()),
      // rclone.modelLink may have changed: the link is then another path, watched and read anew.
      svc.settings.onDidChange(() => {
        this.watch();
        void this.refresh();
      }),
      { dispose: () => this.watcher?.dispose() },
    );
    this.watch();
  }

  /** Watches the link where the settings put it now. */
  private watch(): void {
    const link = this.svc.linkPath();
    if (link === this.watched) return;
    this.watched = link;
    this.watcher?.dispose();
    this.watcher = undefined;
    const folder = vscode.workspace.workspaceFolders?.[0];
    if (!link || !folder) return;
    const watcher = vscode.workspace.createFileSystemWatcher(
      new vscode.RelativePattern(folder, relative(folder.uri.fsPath, link)),
    );
    this.watcher = vscode.Disposable.from(
      watcher,
      watcher.onDidCreate(() => void this.refresh()),
      watcher.onDidChange(() => void this.refresh()),
      watcher.onDidDelete(() => void this.refresh()),
    );
  }

  /** Until when `mountPoint`'s listings stay warm, per warmed folder (nothing known: empty). */
  warmthOf(mountPoint: string): Warmth[] {
    return this.warm.get(mountPoint) ?? [];
  }

  /** The version the link points at, when it points into `mountPoint` ("cache_hub_v23"). */
  linkedIn(mountPoint: string): string | undefined {
    const t = this.link?.target;
    if (!t || dirname(t) !== mountPoint) return undefined;
    return t.slice(mountPoint.length + 1);
  }

  /** Reads the link and the warm records again; one read at a time, a call meanwhile reads once more after it. */
  refresh(): Promise<void> {
    if (this.reading) {
      this.again = true;
      return this.reading;
    }
    this.reading = this.read()
      .catch((e: Error) => this.svc.log.warn(`Reading the model link failed: ${e.message}`))
      .finally(() => {
        this.reading = undefined;
        if (this.again) {
          this.again = false;
          void this.refresh();
        }
      });
    return this.reading;
  }

  private async read(): Promise<void> {
    const path = this.svc.linkPath();
    this.link = path ? await inspectLink(path) : undefined;
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    this.copy =
      path && folder && this.link?.target
        ? await linkedCopy(path, copyRootsOf(this.svc.settings.profiles, folder))
        : undefined;
    const mounts = this.svc.registry.mounts.filter((m) => m.state === 'mounted');
    const warm = await Promise.all(mounts.map((m) => warmth(this.svc.registry.stateDir, m)));
    this.warm.clear();
    mounts.forEach((m, i) => this.warm.set(m.mountPoint, warm[i]!));
    const fingerprint = JSON.stringify([this.link, this.copy, [...this.warm]]);
    if (fingerprint === this.fingerprint) return;
    this.fingerprint = fingerprint;
    this.changed.fire();
  }

  dispose(): void {
    vscode.Disposable.from(...this.subscriptions).dispose();
  }
}

/**
 * "until 10 Jan 14:00" for a warm expiry: in the runtime's locale, or, when VS Code shows a
 * translation (a bundle is loaded), in its display language, like the sentence around it.
 */
export function untilText(ms: number): string {
  const locale = vscode.l10n.bundle ? vscode.env.language : undefined;
  return new Date(ms).toLocaleString(locale, { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' });
}

/** The link's path as the user knows it: relative to the workspace folder. */
export function linkLabel(svc: Services): string {
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  const path = svc.linkPath();
  return folder && path ? `./${relative(folder, path)}` : `./${svc.settings.modelLink}`;
}

export const joinMount = (mountPoint: string, rel: string) => (rel ? join(mountPoint, rel) : mountPoint);
