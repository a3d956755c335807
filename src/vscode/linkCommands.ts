// Link cache_hub (switch the workspace's model link to a version, atomically) and Roll Back, from
// the palette, the version rows and the status bar; and, after a mount comes up in a workspace
// that has no link yet, the offer to make one.
import { basename, join } from 'node:path';
import * as vscode from 'vscode';
import { isRcloneError } from '../core/errors';
import { formatBytes } from '../core/files';
import {
  checkTargetOnMount,
  globToRegExp,
  inspectLink,
  listVersions,
  naturalCompare,
  relink,
  rollback,
  type Version,
} from '../core/link';
import { listFolder } from '../core/listing';
import {
  checkLocalCopy,
  type CopyProfile,
  copyProfilesIn,
  copyRootHolding,
  copyRootsOf,
  copyVersion,
  listLocalVersions,
  removeLocalVersion,
  remoteJoin,
} from '../core/localCopy';
import type { MountProfile } from '../core/profile';
import { abortOn } from './cancel';
import type { Mount } from '../core/mounts';
import { command } from './commands';
import { showFailure } from './failures';
import { linkLabel } from './models';
import { liveMounts } from './mountState';
import { VersionNode } from './nodes';
import type { Services } from './services';

export function register(svc: Services): vscode.Disposable {
  const c = new LinkCommands(svc);
  return vscode.Disposable.from(
    command(svc, 'rclone.relink', (t?: VersionNode | string) => c.link(t)),
    command(svc, 'rclone.rollback', () => c.rollback()),
    command(svc, 'rclone.removeLocalVersion', () => c.removeLocal()),
    svc.onDidMount((m) => void c.offerLink(m)),
  );
}

class LinkCommands {
  constructor(private readonly svc: Services) {}

  /** The link, or a notification saying a folder must be open (the link lives in the workspace). */
  private linkOrSay(): string | undefined {
    const link = this.svc.linkPath();
    if (!link)
      this.svc.ui.notify('info', vscode.l10n.t("Open the app's folder first: the model link lives in the workspace."));
    return link;
  }

  private options() {
    const { registry } = this.svc;
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    const roots = folder ? copyRootsOf(this.svc.settings.profiles, folder) : [];
    return {
      stateDir: registry.stateDir,
      // A whole local copy (copy mode), else a folder on a live mount.
      checkTarget: async (t: string) => {
        const root = copyRootHolding(t, roots);
        return root ? checkLocalCopy(t, root) : checkTargetOnMount(t, await registry.refresh());
      },
    };
  }

  async link(t?: VersionNode | string, moveAside = false): Promise<string | undefined> {
    const link = this.linkOrSay();
    if (!link) return undefined;
    const picked = t instanceof VersionNode ? t.path : typeof t === 'string' ? t : await this.pickVersion(link);
    const target = typeof picked === 'object' ? await this.fetch(picked) : picked;
    if (!target) return undefined;
    const { svc } = this;
    const label = linkLabel(svc);
    try {
      const r = await relink(link, target, { ...this.options(), moveAside });
      await svc.models.refresh();
      if (!r.changed) {
        vscode.window.setStatusBarMessage(vscode.l10n.t('{0} already points at {1}', label, target), 4_000);
        return target;
      }
      const now = r.previous
        ? vscode.l10n.t('{0} → {1} (was {2}).', label, target, basename(r.previous))
        : vscode.l10n.t('{0} → {1}.', label, target);
      const aside = r.movedAside
        ? ` ${vscode.l10n.t('The folder that was there is now {0}.', basename(r.movedAside))}`
        : '';
      svc.ui.notify('info', `${now}${aside}`, [
        ...(r.previous ? [{ title: vscode.l10n.t('Roll Back'), run: () => this.rollback() }] : []),
      ]);
      return target;
    } catch (e) {
      if (isRcloneError(e, 'LinkInTheWay') && !moveAside) {
        const ok = await svc.ui.confirm(
          (await inspectLink(link)).kind === 'directory'
            ? vscode.l10n.t('{0} is a real folder, not a link.', label)
            : vscode.l10n.t('{0} is a real file, not a link.', label),
          vscode.l10n.t(
            'Move it aside to {0}.backup-<date>-<time> and link {1} to {2}? Nothing is deleted.',
            basename(link),
            label,
            target,
          ),
          vscode.l10n.t('Move Aside and Link'),
        );
        return ok ? this.link(target, true) : undefined;
      }
      showFailure(svc, e, { mountPoint: target });
      return undefined;
    }
  }

  async rollback(): Promise<string | undefined> {
    const link = this.linkOrSay();
    if (!link) return undefined;
    const { svc } = this;
    try {
      const r = await rollback(link, this.options());
      await svc.models.refresh();
      svc.ui.notify(
        'info',
        r.previous
          ? vscode.l10n.t('{0} → {1} (rolled back from {2}).', linkLabel(svc), r.target, basename(r.previous))
          : vscode.l10n.t('{0} → {1}.', linkLabel(svc), r.target),
      );
      return r.target;
    } catch (e) {
      showFailure(svc, e);
      return undefined;
    }
  }

  /**
   * The versions of every live mount, the one the link points at marked, the followed mount's
   * first; then, in copy mode, the versions of the bucket (local copies, and those still to copy:
   * picked, they are copied first).
   */
  private async pickVersion(link: string): Promise<string | ToCopy | undefined> {
    const { svc } = this;
    const live = await liveMounts(svc);
    const pattern = svc.settings.versionPattern;
    const lists = await Promise.all(live.map((m) => listVersions(m.mountPoint, { pattern, link }).catch(() => [])));
    const items: Array<vscode.QuickPickItem & { path: string; copy?: ToCopy }> = live.flatMap((m, i) =>
      lists[i]!.map((v) => ({
        label: `${v.linked ? '$(link) ' : ''}${v.name}`,
        description: m.mountPoint,
        detail: v.linked ? vscode.l10n.t('{0} points here now', linkLabel(svc)) : undefined,
        path: v.path,
      })),
    );
    for (const c of await this.copyProfiles()) items.push(...(await this.copyItems(c, pattern, link)));
    if (!items.length) {
      svc.ui.notify(
        'info',
        live.length
          ? vscode.l10n.t('No folder matching "{0}" on {1}.', pattern, live.map((m) => m.mountPoint).join(', '))
          : vscode.l10n.t('Nothing is mounted: mount the bucket that holds the model folders first.'),
        live.length
          ? []
          : [{ title: vscode.l10n.t('Mount…'), run: () => vscode.commands.executeCommand('rclone.mount') }],
      );
      return undefined;
    }
    const title = vscode.l10n.t('Link {0} to which version?', linkLabel(svc));
    const chosen = await svc.ui.pick(items, { title, matchOnDescription: true });
    return chosen?.copy ?? chosen?.path;
  }

  /** The profiles that copy on this box: mode "copy", or "auto" where FUSE is not available (and nothing is mounted). */
  private async copyProfiles(): Promise<CopyProfile[]> {
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    if (!folder) return [];
    const { settings, registry } = this.svc;
    return (await copyProfilesIn(settings.profiles, folder, process.env, registry.mounts)).filter(
      (c) => c.uses === 'copy',
    );
  }

  /** A copy-mode profile's versions: whole local copies, then the bucket's others (copied when picked). */
  private async copyItems(c: CopyProfile, pattern: string, link: string) {
    const { svc } = this;
    const match = globToRegExp(pattern);
    const local = (await listLocalVersions(c.root, [link])).filter((v) => !v.partial && match.test(v.name));
    const listed = await listFolder(await svc.rclone(), c.profile.remote, { limit: 1000, timeoutMs: 30_000 }).catch(
      (e: Error) => {
        svc.log.warn(`Listing ${c.profile.remote} for its versions failed: ${e.message}`);
        return { entries: [] };
      },
    );
    const names = new Set([
      ...local.map((v) => v.name),
      ...listed.entries.filter((e) => e.isDir && match.test(e.name)).map((e) => e.name),
    ]);
    return [...names].sort(naturalCompare).map((name) => {
      const have = local.find((v) => v.name === name);
      const path = join(c.root, name);
      return {
        label: `${have?.linked ? '$(link) ' : ''}${name}`,
        description: have
          ? vscode.l10n.t('local copy · {0}', formatBytes(have.bytes))
          : vscode.l10n.t('in {0}: copied here first', c.profile.remote),
        detail: have?.linked ? vscode.l10n.t('{0} points here now', linkLabel(svc)) : undefined,
        path,
        copy: have ? undefined : { profile: c.profile, source: remoteJoin(c.profile.remote, name), dest: path },
      };
    });
  }

  /** Copies a version of the bucket to its local folder (progress, Cancel), then it can be linked. */
  private async fetch(c: ToCopy): Promise<string | undefined> {
    const { svc } = this;
    const { mountPoint, remote } = c.profile;
    try {
      const done = await vscode.window.withProgress(
        {
          location: vscode.ProgressLocation.Notification,
          title: vscode.l10n.t('Copying {0}', c.source),
          cancellable: true,
        },
        (progress, token) =>
          svc.whileBusy(mountPoint, remote, 'copying', async () => {
            let shown = 0;
            return copyVersion(await svc.rclone(), c.source, c.dest, {
              stateDir: svc.registry.stateDir,
              signal: abortOn(token),
              onProgress: (p) => {
                const pct = Math.floor((100 * p.bytes) / Math.max(1, p.totalBytes));
                svc.progress(mountPoint, `${pct}%`);
                progress.report({
                  message: `${formatBytes(p.bytes)} / ${formatBytes(p.totalBytes)}`,
                  increment: pct - shown,
                });
                shown = pct;
              },
            });
          }),
      );
      return done.dest;
    } catch (e) {
      showFailure(svc, e, { remote: remote.slice(0, remote.indexOf(':')) });
      return undefined;
    }
  }

  /** Removes a local copy the link does not point at, after asking; says how much was freed. */
  async removeLocal(): Promise<void> {
    const { svc } = this;
    const link = svc.linkPath();
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    // Versions only (rclone.versionPattern): an outputs folder in the same root is never offered.
    const match = globToRegExp(svc.settings.versionPattern);
    const items = [];
    for (const root of folder ? copyRootsOf(svc.settings.profiles, folder) : [])
      for (const v of await listLocalVersions(root, link ? [link] : []))
        if (!v.linked && match.test(v.name))
          items.push({
            label: v.partial ? vscode.l10n.t('{0} (cut off)', v.name) : v.name,
            description: formatBytes(v.bytes),
            detail: root,
            root,
            path: v.path,
          });
    if (!items.length) {
      svc.ui.notify(
        'info',
        vscode.l10n.t('No local copy to remove: none, or only the one {0} points at.', linkLabel(svc)),
      );
      return;
    }
    const chosen = await svc.ui.pick(items, { title: vscode.l10n.t('Remove which local copy?') });
    if (!chosen) return;
    const ok = await svc.ui.confirm(
      vscode.l10n.t('Remove the local copy {0} ({1})?', chosen.label, chosen.description),
      vscode.l10n.t('Its files are deleted from {0}; the bucket keeps the version.', chosen.root),
      vscode.l10n.t('Remove'),
    );
    if (!ok) return;
    try {
      const freed = await removeLocalVersion(chosen.root, chosen.path, link ? [link] : []);
      svc.ui.notify('info', vscode.l10n.t('Removed {0}: {1} freed.', chosen.label, formatBytes(freed)));
    } catch (e) {
      showFailure(svc, e);
    }
  }

  /** After a mount made here: a workspace without a link is offered one to this mount's versions. */
  async offerLink(m: Mount): Promise<void> {
    const link = this.svc.linkPath();
    if (!link || (await inspectLink(link)).kind !== 'missing') return;
    const versions: Version[] = await listVersions(m.mountPoint, { pattern: this.svc.settings.versionPattern }).catch(
      () => [],
    );
    if (!versions.length) return;
    const label = linkLabel(this.svc);
    // The folder named like the link first (IndexTTS2's cache_hub), then the newest versions.
    const first = versions.filter((v) => v.name === basename(link));
    const rest = versions.filter((v) => v.name !== basename(link)).reverse();
    const offered = [...first, ...rest].slice(0, 2);
    const question = vscode.l10n.t('{0} does not exist yet. Link it to a model version on {1}?', label, m.mountPoint);
    this.svc.ui.notify('info', question, [
      ...offered.map((v) => ({ title: vscode.l10n.t('Link to {0}', v.name), run: () => this.link(v.path) })),
      ...(versions.length > offered.length ? [{ title: vscode.l10n.t('Choose…'), run: () => this.link() }] : []),
    ]);
  }
}

/** A version of the bucket to copy before it is linked (copy mode). */
interface ToCopy {
  profile: MountProfile;
  source: string;
  dest: string;
}
