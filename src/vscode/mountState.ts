// What the tree and the status bar show of a mount: the registry's state, or the operation this
// window is running on it, put into words the same way on both. Also which mount the status bar
// follows. Pure reads of the registry's snapshot and the window's state; nothing is spawned.
import { FIXES } from '../core/errors';
import { cacheTrouble, type Mount } from '../core/mounts';
import type { Busy, Services } from './services';
import { sameRemote } from './settings';

export interface Shown {
  state: Mount['state'] | Busy;
  mountPoint: string;
  pendingUploads: number;
  mount?: Mount;
}

/** What is on `mountPoint`: this window's running operation, else the registry's state. */
export function shownOn(svc: Services, mountPoint: string): Shown | undefined {
  const busy = svc.busy.get(mountPoint);
  const m = svc.registry.find(mountPoint);
  if (!busy && !m) return undefined;
  return { state: busy?.what ?? m!.state, mountPoint, pendingUploads: m?.pendingUploads ?? 0, mount: m };
}

/** The mount of exactly `location` ("remote:bucket/path"), if any. */
export function mountAt(svc: Services, location: string): Shown | undefined {
  for (const [mountPoint, b] of svc.busy) if (sameRemote(b.remote, location)) return shownOn(svc, mountPoint);
  const m = svc.registry.mounts.find((x) => sameRemote(x.remote, location));
  return m && shownOn(svc, m.mountPoint);
}

/** The local path of `location` inside a live mount of one of its ancestors (or itself). */
export function localPath(svc: Services, location: string): string | undefined {
  for (const m of svc.registry.mounts) {
    if (m.state !== 'mounted') continue;
    const root = m.remote.replace(/\/+$/, '');
    if (location === root) return m.mountPoint;
    if (location.startsWith(`${root}/`) || (root.endsWith(':') && location.startsWith(root))) {
      return `${m.mountPoint}/${location.slice(root.length).replace(/^\/+/, '')}`;
    }
  }
  return undefined;
}

/** An operation is running on it (ours, or a mount another window is starting): nothing else to do now. */
export const isBusy = (s: Shown) => ['mounting', 'unmounting', 'repairing'].includes(s.state);

const troubleOf = (s: Shown | undefined) => (s?.mount ? cacheTrouble(s.mount) : undefined);

/** How loud to show it: writes failing in the cache first, then an rclone that is gone or stuck. */
export function alarmOf(s: Shown | undefined): 'error' | 'warning' | undefined {
  if (troubleOf(s)) return 'error';
  return s?.state === 'stale' || s?.state === 'not answering' ? 'warning' : undefined;
}

/** The state in a few words, where space is short: "mounted", "3 uploading", "stale", "cache full"… */
export function stateText(s: Shown | undefined): string {
  if (!s) return 'not mounted';
  if (isBusy(s)) return `${s.state}…`;
  if (troubleOf(s)) return s.mount?.outOfSpace ? 'cache full' : 'cache errors';
  if (s.state === 'mounted' && s.pendingUploads > 0) return `${s.pendingUploads} uploading`;
  return s.state;
}

/** Tooltip lines (markdown): the state and what to do about it, the cache mode, uploads, who mounted it. */
export function stateDetails(s: Shown | undefined, cacheMode = s?.mount?.profile?.cacheMode): string[] {
  const lines = [
    `State: ${s?.state ?? 'not mounted'}${s?.state === 'stale' ? ' (its rclone is gone: Remount / Repair)' : ''}`,
  ];
  if (s?.state === 'not answering') lines.push(FIXES.NotAnswering);
  const trouble = troubleOf(s);
  if (trouble) lines.push(`**${trouble}.** ${FIXES.CacheFull}`);
  if (cacheMode) lines.push(`Cache mode: ${cacheMode}`);
  if (s?.mount?.external) lines.push('Mounted by another tool');
  else if (s?.state === 'mounted') lines.push(`Pending uploads: ${s.pendingUploads}`);
  return lines;
}

const LAST_MOUNT = 'rclone.lastMount';

export interface Followed {
  remote: string;
  mountPoint: string;
}

/** The mount the status bar follows: the first profile, else the last mounted here, else the first of ours mounted. */
export function followedMount(svc: Services): Followed | undefined {
  const ours = svc.registry.mounts.find((m) => !m.external);
  return (
    svc.settings.profiles[0] ??
    svc.context.globalState.get<Followed>(LAST_MOUNT) ??
    (ours && { remote: ours.remote, mountPoint: ours.mountPoint })
  );
}

/** Remembers a mount made here: with no profile, the status bar follows the last one. */
export async function rememberMount(svc: Services, f: Followed): Promise<void> {
  await svc.context.globalState.update(LAST_MOUNT, { remote: f.remote, mountPoint: f.mountPoint });
}

/** "uploading 3 files" style counts. */
export const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
