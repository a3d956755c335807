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
    if (!link) this.svc.ui.notify('info', "Open the app's folder first: the model link lives in the workspace.");
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
        vscode.window.setStatusBarMessage(`${label} already points at ${target}`, 4_000);
        return target;
      }
      const aside = r.movedAside ? ` The folder that was there is now ${basename(r.movedAside)}.` : '';
      svc.ui.notify('info', `${label} → ${target}${r.previous ? ` (was ${basename(r.previous)})` : ''}.${aside}`, [
        ...(r.previous ? [{ title: 'Roll Back', run: () => this.rollback() }] : []),
      ]);
      return target;
    } catch (e) {
      if (isRcloneError(e, 'LinkInTheWay') && !moveAside) {
        const ok = await svc.ui.confirm(
          `${label} is a real ${(await inspectLink(link)).kind === 'directory' ? 'folder' : 'file'}, not a link.`,
          `Move it aside to ${basename(link)}.backup-<date>-<time> and link ${label} to ${target}? Nothing is deleted.`,
          'Move Aside and Link',
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
        `${linkLabel(svc)} → ${r.target}${r.previous ? ` (rolled back from ${basename(r.previous)})` : ''}.`,
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
        detail: v.linked ? `${linkLabel(svc)} points here now` : undefined,
        path: v.path,
      })),
    );
    if (!items.length) {
      svc.ui.notify(
        'info',
        live.length
          ? `No folder matching "${pattern}" on ${live.map((m) => m.mountPoint).join(', ')}.`
          : 'Nothing is mounted: mount the bucket that holds the model folders first.',
        live.length ? [] : [{ title: 'Mount…', run: () => vscode.commands.executeCommand('rclone.mount') }],
      );
      return undefined;
    }
    return (await svc.ui.pick(items, { title: `Link ${linkLabel(svc)} to which version?`, matchOnDescription: true }))
      ?.path;
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
    this.svc.ui.notify('info', `${label} does not exist yet. Link it to a model version on ${m.mountPoint}?`, [
      ...offered.map((v) => ({ title: `Link to ${v.name}`, run: () => this.link(v.path) })),
      ...(versions.length > offered.length ? [{ title: 'Choose…', run: () => this.link() }] : []),
    ]);
  }
}
