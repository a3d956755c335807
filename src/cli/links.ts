// `rclone-devbox versions`, `link` and `rollback`: the workspace's ./cache_hub is a symlink into a
// mount, or in copy mode into the folder of its local copies, switched between model versions
// (core/link.ts does the switching, atomically, and keeps the history). Loaded only when one of
// them runs.
import { resolve } from 'node:path';
import * as l10n from '@vscode/l10n';
import { isRcloneError, RcloneError } from '../core/errors';
import {
  checkTargetOnMount,
  inspectLink,
  linkHistory,
  listVersions,
  relink,
  rollback,
  type Version,
} from '../core/link';
import { checkLocalCopy, copyRootHolding, copyRootsOf } from '../core/localCopy';
import { type Mount, MountRegistry } from '../core/mounts';
import type { Rclone } from '../core/rclone';
import { readWorkspace } from '../core/workspace';
import { DEFAULT_LINK, type Options, usageOf, type Values } from './args';
import type { Io } from './mounts';

/**
 * Where the workspace in the current folder keeps its local copies (its profiles of mode "copy" or
 * "auto"); none when it has no such profile, or its settings cannot be read (then only mounts count).
 */
async function copyRootsHere(): Promise<string[]> {
  const def = await readWorkspace(process.cwd()).catch(() => undefined);
  return def ? copyRootsOf(def.profiles, def.folder) : [];
}

/** The whole local copies in `roots` matching the pattern (a root with no copies yet has none). */
async function localVersions(roots: readonly string[], pattern: string, link: string): Promise<Version[]> {
  const lists = await Promise.all(
    roots.map((root) =>
      listVersions(root, { pattern, link }).catch((e: unknown) => {
        if (isRcloneError(e, 'NotFound')) return [];
        throw e;
      }),
    ),
  );
  // `.cache_hub_v24.partial` is a copy that was cut off: never a version to link.
  return lists.flat().filter((v) => !v.name.startsWith('.'));
}

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
  const roots = await copyRootsHere();
  // The target must be a whole local copy in the workspace's copy root, or a folder on a live
  // mount (the mount holding it is what a fix names).
  const checkTarget = async (target: string) => {
    const root = copyRootHolding(target, roots);
    if (root) return checkLocalCopy(target, root);
    const mounts = await registry.refresh();
    const m = holder(await registry.canonical(target).catch(() => target), mounts) ?? holder(target, mounts);
    if (m) io.context.dir = m.mountPoint;
    await checkTargetOnMount(target, mounts);
  };
  switch (command) {
    case 'versions': {
      const pattern = v.pattern ?? 'cache_hub*';
      const here = arg === undefined ? roots : roots.filter((r) => r === resolve(arg));
      if (arg === undefined && !roots.length) {
        io.err(
          l10n.t(
            '{0}: {1}. {2}',
            command,
            l10n.t`missing <mountpoint> (${process.cwd()} has no local copies: no profile in copy mode)`,
            usageOf(command),
          ),
        );
        return 2;
      }
      if (here.length) {
        const versions = await localVersions(here, pattern, link);
        if (o.json) {
          io.out(JSON.stringify(versions, null, 2));
          return 0;
        }
        if (!versions.length) for (const r of here) io.err(l10n.t`No local copy in ${r} matches "${pattern}".`);
        printVersions(versions, io);
        return 0;
      }
      const root = resolve(arg!);
      const m = holder(await registry.canonical(root).catch(() => root), await registry.refresh());
      if (m) io.context.dir = m.mountPoint;
      if (m && m.state !== 'mounted') throw unusable(m);
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
      printVersions(versions, io);
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

/** `* cache_hub_v24  /mnt/…/cache_hub_v24`: names lined up, * on the linked one. */
function printVersions(versions: readonly Version[], io: Io): void {
  const width = Math.max(0, ...versions.map((x) => x.name.length));
  for (const x of versions) io.out(`${x.linked ? '*' : ' '} ${x.name.padEnd(width)}  ${x.path}`);
}
