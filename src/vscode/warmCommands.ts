// Prewarm and Prewarm Content (palette, tree rows, version rows), and the warm list a profile
// names, run in the background after each mount made here. Progress shows in a cancellable
// notification (or, for the warm list, only in the status bar and the tree row).
import { stat } from 'node:fs/promises';
import * as vscode from 'vscode';
import { isRcloneError } from '../core/errors';
import { listVersions } from '../core/link';
import type { Mount } from '../core/mounts';
import {
  type ContentProgress,
  formatBytes,
  type MetadataProgress,
  mountHolding,
  prewarm,
  type PrewarmResult,
  targetOf,
  type WarmTarget,
} from '../core/prewarm';
import { abortOn } from './cancel';
import { command } from './commands';
import { showFailure } from './failures';
import { joinMount, untilText } from './models';
import { liveMounts, localPath, plural } from './mountState';
import { PathNode, VersionNode } from './nodes';
import type { Services } from './services';

/** What a warm command was invoked on: a tree row, a path on the box, or nothing (palette). */
type Target = PathNode | VersionNode | string | undefined;

export function register(svc: Services): vscode.Disposable {
  const c = new WarmCommands(svc);
  return vscode.Disposable.from(
    command(svc, 'rclone.prewarm', (t?: Target) => c.warm(t, false)),
    command(svc, 'rclone.prewarmContent', (t?: Target) => c.warm(t, true)),
    svc.onDidMount((m) => void c.warmList(m)),
  );
}

class WarmCommands {
  constructor(private readonly svc: Services) {}

  async warm(t: Target, content: boolean): Promise<PrewarmResult | undefined> {
    const where = await this.choose(t, content);
    if (!where) return undefined;
    const { target, path } = where;
    const { svc } = this;
    const shown = path || target.mountPoint;
    try {
      const result = await vscode.window.withProgress(
        {
          location: vscode.ProgressLocation.Notification,
          title: `Warming ${shown}${content ? ' (content)' : ''}`,
          cancellable: true,
        },
        (progress, token) => {
          let reported = 0;
          const to = (percent: number, message: string) => {
            progress.report({ message, increment: Math.max(0, percent - reported) });
            reported = Math.max(reported, percent);
            svc.progress(target.mountPoint, `${Math.floor(percent)}%`);
          };
          if (!target.rc)
            progress.report({ message: "another tool's mount: walking it folder by folder (the slow way)" });
          return svc.whileBusy(target.mountPoint, target.remote, 'warming', () =>
            prewarm(svc.registry, target, [path], {
              content,
              signal: abortOn(token),
              onMetadata: (p) =>
                to((content ? 10 : 100) * metadataShare(p), `${p.files.toLocaleString()} files listed`),
              onContent: (p) => to(10 + 90 * contentShare(p), contentText(p)),
            }),
          );
        },
      );
      await svc.models.refresh();
      svc.ui.notify('info', summary(shown, result));
      return result;
    } catch (e) {
      if (isRcloneError(e, 'Cancelled')) return undefined;
      const full = isRcloneError(e, 'NeedsFullCache') && target.rc !== undefined; // ours: remountable
      showFailure(svc, e, { mountPoint: target.mountPoint }, full ? [this.remountFull(target, path)] : []);
      return undefined;
    }
  }

  /** "Remount in Full Mode": the mount again with cache mode full (uploads are waited for), then the warm again. */
  private remountFull(target: WarmTarget, path: string) {
    return {
      title: 'Remount in Full Mode',
      run: async () => {
        const m = this.svc.registry.find(target.mountPoint);
        const profile = m?.profile && { ...m.profile, cacheMode: 'full' as const };
        if (!profile) return;
        const mounted = await vscode.commands.executeCommand<Mount | undefined>('rclone.remount', profile);
        if (mounted) await this.warm(joinMount(target.mountPoint, path), true);
      },
    };
  }

  /**
   * After a mount made here: the profile's warm list, metadata only, in the background. Marked
   * busy at once (before the mount command returns), so "mounted" is shown only once it is warm.
   */
  async warmList(m: Mount): Promise<void> {
    const paths = m.profile?.warm ?? [];
    if (!paths.length) return;
    const { svc } = this;
    try {
      await svc.whileBusy(m.mountPoint, m.remote, 'warming', async () => {
        // Only the folders this bucket has (IndexTTS2's cache_hub is the default for every profile).
        const there = await Promise.all(
          paths.map((p) =>
            stat(joinMount(m.mountPoint, p)).then(
              (s) => s.isDirectory(),
              () => false,
            ),
          ),
        );
        const found = paths.filter((_, i) => there[i]);
        if (!found.length) return;
        const result = await prewarm(svc.registry, await targetOf(svc.registry, m), found, {
          onMetadata: (p) => svc.progress(m.mountPoint, `${Math.floor(100 * metadataShare(p))}%`),
        });
        await svc.models.refresh();
        svc.log.info(summary(found.join(', '), result));
      });
    } catch (e) {
      svc.log.warn(`Warming ${paths.join(', ')} after mounting ${m.mountPoint} failed: ${(e as Error).message}`);
    }
  }

  /** The mount and the folder in it to warm: the row's, the path's, or asked for. */
  private async choose(t: Target, content: boolean): Promise<{ target: WarmTarget; path: string } | undefined> {
    const { svc } = this;
    const dir =
      t instanceof VersionNode
        ? t.path
        : t instanceof PathNode
          ? localPath(svc, t.location)
          : typeof t === 'string'
            ? t
            : await this.ask(content);
    if (!dir) {
      if (t instanceof PathNode)
        svc.ui.notify('info', `${t.location} is not on a live mount: mount it first.`, [
          { title: 'Mount', run: () => vscode.commands.executeCommand('rclone.mount', t) },
        ]);
      return undefined;
    }
    const found = await mountHolding(svc.registry, dir);
    if (!found) {
      svc.ui.notify('info', `${dir} is not on a mount.`);
      return undefined;
    }
    return found;
  }

  /** Palette: which live mount, then which of its folders (the warm list and the versions first). */
  private async ask(content: boolean): Promise<string | undefined> {
    const { svc } = this;
    const live = await liveMounts(svc);
    if (!live.length) {
      svc.ui.notify('info', 'Nothing is mounted.', [
        { title: 'Mount…', run: () => vscode.commands.executeCommand('rclone.mount') },
      ]);
      return undefined;
    }
    const m =
      live.length === 1
        ? live[0]!
        : (
            await svc.ui.pick(
              live.map((x) => ({ label: x.mountPoint, description: x.remote, mount: x })),
              { title: content ? 'Warm the content of which mount?' : 'Warm which mount?' },
            )
          )?.mount;
    if (!m) return undefined;
    const versions = await listVersions(m.mountPoint, { pattern: svc.settings.versionPattern }).catch(() => []);
    const names = [...new Set([...(m.profile?.warm ?? []), ...versions.map((v) => v.name)])];
    const items = [
      ...names.map((n) => ({ label: n, description: joinMount(m.mountPoint, n), path: joinMount(m.mountPoint, n) })),
      { label: '$(root-folder) The whole mount', description: m.mountPoint, path: m.mountPoint },
    ];
    return (await svc.ui.pick(items, { title: `Warm what on ${m.mountPoint}?` }))?.path;
  }
}

const metadataShare = (p: MetadataProgress) => (p.total ? p.done / p.total : 0);
const contentShare = (p: ContentProgress) => (p.bytesTotal ? p.bytesDone / p.bytesTotal : 1);

/** "120 MB of 300 MB · 45 MB/s · 4 s left". */
export function contentText(p: ContentProgress): string {
  const parts = [`${formatBytes(p.bytesDone)} of ${formatBytes(p.bytesTotal)}`];
  if (p.rate > 0) parts.push(`${formatBytes(p.rate)}/s`);
  if (p.etaMs !== undefined) parts.push(`${Math.ceil(p.etaMs / 1000)} s left`);
  if (p.skipped) parts.push(`${plural(p.skipped, 'file')} already cached`);
  return parts.join(' · ');
}

function summary(what: string, r: PrewarmResult): string {
  const m = r.metadata;
  const way = m.way === 'walk' ? ' (walked: a mount of another tool)' : '';
  const listed = `${m.files.toLocaleString()} files in ${m.dirs.toLocaleString()} folders listed in ${(m.ms / 1000).toFixed(1)} s${way}`;
  const content = r.content
    ? `; ${formatBytes(r.content.bytes)} of content cached${r.content.skipped ? ` (${plural(r.content.skipped, 'file')} already were)` : ''}`
    : '';
  return `Warmed ${what}: ${listed}${content}. Listings stay warm until ${untilText(r.until)}.`;
}
