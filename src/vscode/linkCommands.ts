// Link cache_hub (switch the workspace's model link to a version, atomically) and Roll Back, from
// the palette, the version rows and the status bar; and, after a mount comes up in a workspace
// that has no link yet, the offer to make one.
import { basename } from 'node:path';
import * as vscode from 'vscode';
import { isRcloneError } from '../core/errors';
import { checkTargetOnMount, inspectLink, listVersions, relink, rollback, type Version } from '../core/link';
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
    return {
      stateDir: registry.stateDir,
      checkTarget: async (t: string) => checkTargetOnMount(t, await registry.refresh()),
    };
  }

  async link(t?: VersionNode | string, moveAside = false): Promise<string | undefined> {
    const link = this.linkOrSay();
    if (!link) return undefined;
    const target = t instanceof VersionNode ? t.path : typeof t === 'string' ? t : await this.pickVersion(link);
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

  /** The versions of every live mount, the one the link points at marked, the followed mount's first. */
  private async pickVersion(link: string): Promise<string | undefined> {
    const { svc } = this;
    const live = await liveMounts(svc);
    const pattern = svc.settings.versionPattern;
    const lists = await Promise.all(live.map((m) => listVersions(m.mountPoint, { pattern, link }).catch(() => [])));
    const items = live.flatMap((m, i) =>
      lists[i]!.map((v) => ({
        label: `${v.linked ? '$(link) ' : ''}${v.name}`,
        description: m.mountPoint,
        detail: v.linked ? vscode.l10n.t('{0} points here now', linkLabel(svc)) : undefined,
        path: v.path,
      })),
    );
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
    return (await svc.ui.pick(items, { title, matchOnDescription: true }))?.path;
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
