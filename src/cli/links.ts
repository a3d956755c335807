// `rclone-devbox versions`, `link` and `rollback`: the workspace's ./cache_hub is a symlink into a
// mount, switched between model versions (core/link.ts does the switching, atomically, and keeps
// the history). Loaded only when one of them runs.
import { resolve } from 'node:path';
import * as l10n from '@vscode/l10n';
import { RcloneError } from '../core/errors';
import { checkTargetOnMount, inspectLink, linkHistory, listVersions, relink, rollback } from '../core/link';
import { type Mount, MountRegistry } from '../core/mounts';
import type { Rclone } from '../core/rclone';
import { DEFAULT_LINK, type Options, type Values } from './args';
import type { Io } from './mounts';

/** The innermost mount whose mount point is `path` or one of its parents. */
function holder(path: string, mounts: readonly Mount[]): Mount | undefined {
  return mounts
    .filter((m) => m.mountPoint === '/' || path === m.mountPoint || path.startsWith(`${m.mountPoint}/`))
    .sort((a, b) => b.mountPoint.length - a.mountPoint.length)[0];
}

/** Why a mount that is not 'mounted' cannot be listed; nothing inside it is touched (a stuck mount never answers). */
function unusable(m: Mount): RcloneError {
  const { mountPoint: at, remote } = m;
  switch (m.state) {
    case 'not answering':
      return new RcloneError(
        'NotMounted',
        l10n.t`The mount at ${at} (${remote}) is not answering (its rclone is alive but stuck or stopped).`,
        {
          fix: l10n.t`Wait until it answers again (a stopped rclone: kill -CONT ${m.pid ?? '<pid>'}), then try again.`,
        },
      );
    case 'mounting':
      return new RcloneError('NotMounted', l10n.t`The mount at ${at} (${remote}) is still mounting.`, {
        fix: l10n.t('Wait until it is mounted, then try again.'),
      });
    default:
      return new RcloneError('NotMounted', l10n.t`The mount at ${at} (${remote}) is stale (its rclone is gone).`);
  }
}

export async function linkCommand(
  command: 'versions' | 'link' | 'rollback',
  [arg]: string[],
  o: Options,
  v: Values,
  rclone: () => Promise<Rclone>,
  io: Io,
): Promise<number> {
  const registry = new MountRegistry(rclone, { log: io.log });
  const link = v.link ?? DEFAULT_LINK;
  const { stateDir } = registry;
  // The target must be a folder on a live mount; the mount holding it is what a fix names.
  const checkTarget = async (target: string) => {
    const mounts = await registry.refresh();
    const m = holder(await registry.canonical(target).catch(() => target), mounts) ?? holder(target, mounts);
    if (m) io.context.dir = m.mountPoint;
    await checkTargetOnMount(target, mounts);
  };
  switch (command) {
    case 'versions': {
      const root = resolve(arg!);
      const m = holder(await registry.canonical(root).catch(() => root), await registry.refresh());
      if (m) io.context.dir = m.mountPoint;
      if (m && m.state !== 'mounted') throw unusable(m);
      const pattern = v.pattern ?? 'cache_hub*';
      const versions = await listVersions(root, { pattern, link });
      if (o.json) {
        io.out(JSON.stringify(versions, null, 2));
        return 0;
      }
      if (!versions.length) {
        io.err(
          m
            ? l10n.t`No folder in ${root} matches "${pattern}".`
            : l10n.t`No folder in ${root} matches "${pattern}" (nothing is mounted there).`,
        );
        return 0;
      }
      const width = Math.max(...versions.map((x) => x.name.length));
      for (const x of versions) io.out(`${x.linked ? '*' : ' '} ${x.name.padEnd(width)}  ${x.path}`);
      return 0;
    }
    case 'link': {
      const target = resolve(arg!);
      const before = o['move-aside'] ? await inspectLink(link) : undefined;
      const r = await relink(link, target, { stateDir, moveAside: o['move-aside'], checkTarget });
      if (!r.changed) {
        io.out(l10n.t`${link} already points at ${target}`);
        return 0;
      }
      const was = r.previous
        ? l10n.t` (was ${r.previous})`
        : r.movedAside
          ? before?.kind === 'file'
            ? l10n.t` (the file that was there is now ${r.movedAside})`
            : l10n.t` (the folder that was there is now ${r.movedAside})`
          : '';
      io.out(`${link} → ${target}${was}`);
      return 0;
    }
    case 'rollback': {
      const r = await rollback(link, { stateDir, checkTarget });
      const more = (await linkHistory(link, stateDir)).length;
      io.out(`${link} → ${r.target}${r.previous ? l10n.t` (was ${r.previous})` : ''}`);
      if (!more) io.err(l10n.t('No earlier target is left to roll back to after this one.'));
      return 0;
    }
  }
}
