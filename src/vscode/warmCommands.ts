// Prewarm and Prewarm Content (palette, tree rows, version rows), and the warm list a profile
// names, run in the background after each mount made here. Progress shows in a cancellable
// notification (or, for the warm list, only in the status bar and the tree row).
import { stat } from 'node:fs/promises';
import * as vscode from 'vscode';
import { isRcloneError } from '../core/errors';
import { listVersions } from '../core/link';
import type { Mount } from '../core/mounts';
import { formatBytes } from '../core/files';
import {
  type ContentProgress,
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
import { liveMounts, localPath } from './mountState';
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
          title: content ? vscode.l10n.t('Warming {0} (content)', shown) : vscode.l10n.t('Warming {0}', shown),
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
            progress.report({
              message: vscode.l10n.t("another tool's mount: walking it folder by folder (the slow way)"),
            });
          return svc.whileBusy(target.mountPoint, target.remote, 'warming', () =>
            prewarm(svc.registry, target, [path], {
              content,
              signal: abortOn(token),
              onMetadata: (p) =>
                to(
                  (content ? 10 : 100) * metadataShare(p),
                  vscode.l10n.t('{0} files listed', p.files.toLocaleString()),
                ),
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
      title: vscode.l10n.t('Remount in Full Mode'),
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
        svc.ui.notify('info', vscode.l10n.t('{0} is not on a live mount: mount it first.', t.location), [
          { title: vscode.l10n.t('Mount'), run: () => vscode.commands.executeCommand('rclone.mount', t) },
        ]);
      return undefined;
    }
    const found = await mountHolding(svc.registry, dir);
    if (!found) {
      svc.ui.notify('info', vscode.l10n.t('{0} is not on a mount.', dir));
      return undefined;
    }
    return found;
  }

  /** Palette: which live mount, then which of its folders (the warm list and the versions first). */
  private async ask(content: boolean): Promise<string | undefined> {
    const { svc } = this;
    const live = await liveMounts(svc);
    if (!live.length) {
      svc.ui.notify('info', vscode.l10n.t('Nothing is mounted.'), [
        { title: vscode.l10n.t('Mount…'), run: () => vscode.commands.executeCommand('rclone.mount') },
      ]);
      return undefined;
    }
    const m =
      live.length === 1
        ? live[0]!
        : (
            await svc.ui.pick(
              live.map((x) => ({ label: x.mountPoint, description: x.remote, mount: x })),
              {
                title: content ? vscode.l10n.t('Warm the content of which mount?') : vscode.l10n.t('Warm which mount?'),
              },
            )
          )?.mount;
    if (!m) return undefined;
    const versions = await listVersions(m.mountPoint, { pattern: svc.settings.versionPattern }).catch(() => []);
    const names = [...new Set([...(m.profile?.warm ?? []), ...versions.map((v) => v.name)])];
    const items = [
      ...names.map((n) => ({ label: n, description: joinMount(m.mountPoint, n), path: joinMount(m.mountPoint, n) })),
      { label: `$(root-folder) ${vscode.l10n.t('The whole mount')}`, description: m.mountPoint, path: m.mountPoint },
    ];
    return (await svc.ui.pick(items, { title: vscode.l10n.t('Warm what on {0}?', m.mountPoint) }))?.path;
  }
}

const metadataShare = (p: MetadataProgress) => (p.total ? p.done / p.total : 0);
const contentShare = (p: ContentProgress) => (p.bytesTotal ? p.bytesDone / p.bytesTotal : 1);

/** "1 file", "3 files". */
const files = (n: number) => (n === 1 ? vscode.l10n.t('1 file') : vscode.l10n.t('{0} files', n));

/** "120 MB of 300 MB · 45 MB/s · 4 s left". */
export function contentText(p: ContentProgress): string {
  const parts = [vscode.l10n.t('{0} of {1}', formatBytes(p.bytesDone), formatBytes(p.bytesTotal))];
  if (p.rate > 0) parts.push(`${formatBytes(p.rate)}/s`);
  if (p.etaMs !== undefined) parts.push(vscode.l10n.t('{0} s left', Math.ceil(p.etaMs / 1000)));
  if (p.skipped) parts.push(vscode.l10n.t('{0} already cached', files(p.skipped)));
  return parts.join(' · ');
}

function summary(what: string, r: PrewarmResult): string {
  const m = r.metadata;
  const [nFiles, nDirs, secs] = [m.files.toLocaleString(), m.dirs.toLocaleString(), (m.ms / 1000).toFixed(1)];
  const listed =
    m.way === 'walk'
      ? vscode.l10n.t('{0} files in {1} folders listed in {2} s (walked: a mount of another tool)', nFiles, nDirs, secs)
      : vscode.l10n.t('{0} files in {1} folders listed in {2} s', nFiles, nDirs, secs);
  const until = untilText(r.until);
  if (!r.content) return vscode.l10n.t('Warmed {0}: {1}. Listings stay warm until {2}.', what, listed, until);
  const bytes = formatBytes(r.content.bytes);
  const content = r.content.skipped
    ? vscode.l10n.t('{0} of content cached ({1} already were)', bytes, files(r.content.skipped))
    : vscode.l10n.t('{0} of content cached', bytes);
  return vscode.l10n.t('Warmed {0}: {1}; {2}. Listings stay warm until {3}.', what, listed, content, until);
}
