// What the tree and the status bar show for a place: the registry's mount state, or the operation
// this window is running on it. Pure reads of the registry's snapshot; nothing is spawned.
import type { Mount } from '../core/mounts';
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

/** "uploading 3 files" style counts. */
export const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
