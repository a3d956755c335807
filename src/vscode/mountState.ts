// What the tree and the status bar show of a mount: the registry's state, or the operation this
// window is running on it, put into words the same way on both. Also which mount the status bar
// follows. Pure reads of the registry's snapshot and the window's state; nothing is spawned.
import * as vscode from 'vscode';
import { FIXES } from '../core/errors';
import { cacheTrouble, credentialsTrouble, type Mount } from '../core/mounts';
import type { Busy, Services } from './services';
import { sameRemote } from './settings';

export interface Shown {
  state: Mount['state'] | Busy;
  mountPoint: string;
  pendingUploads: number;
  mount?: Mount;
  /** How far a running operation is, e.g. "40%". */
  progress?: string;
}

/** What is on `mountPoint`: this window's running operation, else the registry's state. */
export function shownOn(svc: Services, mountPoint: string): Shown | undefined {
  const busy = svc.busy.get(mountPoint);
  const m = svc.registry.find(mountPoint);
  if (!busy && !m) return undefined;
  return {
    state: busy?.what ?? m!.state,
    mountPoint,
    pendingUploads: m?.pendingUploads ?? 0,
    mount: m,
    progress: busy?.progress,
  };
}

/** The mount of exactly `location` ("remote:bucket/path"), if any. */
/**
 * The registry's mounts, ours before other tools': on a busy box another config or user may mount a
 * bucket of the same name ("s3:index-tts-data"), and a row shows our mount of it when there is one.
 */
const oursFirst = (svc: Services) => [...svc.registry.mounts].sort((a, b) => Number(a.external) - Number(b.external));

export function mountAt(svc: Services, location: string): Shown | undefined {
  for (const [mountPoint, b] of svc.busy) if (sameRemote(b.remote, location)) return shownOn(svc, mountPoint);
  const m = oursFirst(svc).find((x) => sameRemote(x.remote, location));
  return m && shownOn(svc, m.mountPoint);
}

/** The path of `location` below what `remote` names ("" for itself), or undefined when it is not under it. */
function below(remote: string, location: string): string | undefined {
  const root = remote.replace(/\/+$/, '');
  if (location === root) return '';
  if (!location.startsWith(`${root}/`) && !(root.endsWith(':') && location.startsWith(root))) return undefined;
  return location.slice(root.length).replace(/^\/+/, '');
}

/** The local path of `location` inside a live mount of one of its ancestors (or itself). */
export function localPath(svc: Services, location: string): string | undefined {
  for (const m of oursFirst(svc)) {
    const rest = m.state === 'mounted' ? below(m.remote, location) : undefined;
    if (rest !== undefined) return rest ? `${m.mountPoint}/${rest}` : m.mountPoint;
  }
  return undefined;
}

/**
 * Our mount of a folder that holds `location` (not of `location` itself): reaching it needs no
 * mount of its own. Only ours: another tool's "s3:bucket" may come from another config entirely.
 */
export function mountAbove(svc: Services, location: string): Shown | undefined {
  const m = svc.registry.mounts.find((x) => !x.external && !!below(x.remote, location));
  return m && shownOn(svc, m.mountPoint);
}

/** An operation is running on it (ours, or a mount another window is starting): nothing else to do now. */
export const isBusy = (s: Shown) =>
  ['mounting', 'copying', 'unmounting', 'repairing', 'warming', 'starting app'].includes(s.state);

const troubleOf = (s: Shown | undefined) => (s?.mount ? cacheTrouble(s.mount) : undefined);

/**
 * "credentials expired" / "credentials refused": the mount runs, but the endpoint no longer takes
 * its credentials, so every request to the bucket fails (undefined: nothing says so).
 */
export const credentialsOf = (s: Shown | undefined) =>
  s?.mount?.state === 'mounted' ? credentialsTrouble(s.mount) : undefined;

/** What fixes a mount's credentials trouble (see credentialsOf). */
const credentialsFix = (s: Shown | undefined) =>
  s?.mount?.credentials === 'refused' ? FIXES.AuthFailed : FIXES.CredentialsExpired;

/** The remote's name of a mount ("s3" of "s3:models/x"), for Edit Remote. */
export const remoteName = (remote: string) => remote.slice(0, Math.max(0, remote.indexOf(':')));

/**
 * How loud to show it: writes failing in the cache first, then credentials the endpoint no longer
 * takes, then an rclone that is gone or stuck.
 */
export function alarmOf(s: Shown | undefined): 'error' | 'warning' | undefined {
  if (troubleOf(s)) return 'error';
  if (credentialsOf(s)) return 'warning';
  return s?.state === 'stale' || s?.state === 'not answering' ? 'warning' : undefined;
}

/** A state in the user's language ("not answering", "starting app"…); the state itself stays the key. */
export function stateWord(state: Shown['state'] | undefined): string {
  switch (state) {
    case 'mounted':
      return vscode.l10n.t('mounted');
    case 'stale':
      return vscode.l10n.t('stale');
    case 'not answering':
      return vscode.l10n.t('not answering');
    case 'mounting':
      return vscode.l10n.t('mounting');
    case 'copying':
      return vscode.l10n.t('copying');
    case 'unmounting':
      return vscode.l10n.t('unmounting');
    case 'repairing':
      return vscode.l10n.t('repairing');
    case 'warming':
      return vscode.l10n.t('warming');
    case 'starting app':
      return vscode.l10n.t('starting app');
    default:
      return vscode.l10n.t('not mounted');
  }
}

/** The state in a few words, where space is short: "mounted", "3 uploading", "stale", "cache full"… */
export function stateText(s: Shown | undefined): string {
  if (!s) return stateWord(undefined);
  if (isBusy(s)) return s.progress ? `${stateWord(s.state)} ${s.progress}` : `${stateWord(s.state)}…`;
  if (troubleOf(s)) return s.mount?.outOfSpace ? vscode.l10n.t('cache full') : vscode.l10n.t('cache errors');
  const credentials = credentialsOf(s);
  if (credentials) return credentials;
  if (s.state === 'mounted' && s.pendingUploads > 0) return vscode.l10n.t('{0} uploading', s.pendingUploads);
  return stateWord(s.state);
}

/** Tooltip lines (markdown): the state and what to do about it, the cache mode, uploads, who mounted it. */
export function stateDetails(s: Shown | undefined, cacheMode = s?.mount?.profile?.cacheMode): string[] {
  const lines = [
    s?.state === 'stale'
      ? vscode.l10n.t('State: {0} (its rclone is gone: Remount / Repair)', stateWord(s.state))
      : vscode.l10n.t('State: {0}', stateWord(s?.state)),
  ];
  if (s?.state === 'not answering') lines.push(FIXES.NotAnswering);
  const trouble = troubleOf(s);
  if (trouble) lines.push(`**${trouble}.** ${FIXES.CacheFull}`);
  const credentials = credentialsOf(s);
  if (credentials) lines.push(`**${credentials}.** ${credentialsFix(s)}`);
  if (cacheMode) lines.push(vscode.l10n.t('Cache mode: {0}', cacheMode));
  if (s?.mount?.external) lines.push(vscode.l10n.t('Mounted by another tool'));
  else if (s?.state === 'mounted') lines.push(vscode.l10n.t('Pending uploads: {0}', s.pendingUploads));
  return lines;
}

const LAST_MOUNT = 'rclone.lastMount';

export interface Followed {
  remote: string;
  mountPoint: string;
  /** Why the status bar follows this one (its tooltip says so). */
  why?: string;
}

/** The mount the status bar follows: the first profile, else the last mounted here, else the first of ours mounted. */
export function followedMount(svc: Services): Followed | undefined {
  const profile = svc.settings.profiles[0];
  if (profile)
    return { remote: profile.remote, mountPoint: profile.mountPoint, why: vscode.l10n.t('the first mount profile') };
  const last = svc.context.globalState.get<Followed>(LAST_MOUNT);
  if (last) return { ...last, why: vscode.l10n.t('the last mount made in the editor') };
  const ours = svc.registry.mounts.find((m) => !m.external);
  return (
    ours && {
      remote: ours.remote,
      mountPoint: ours.mountPoint,
      why: vscode.l10n.t('mounted by another window or the CLI'),
    }
  );
}

/** Mount points of ours: profiles, mounts of our records (any window, the CLI), operations running here. */
export function ourMountPoints(svc: Services): Set<string> {
  return new Set([
    ...svc.settings.profiles.map((p) => p.mountPoint),
    ...svc.registry.mounts.filter((m) => !m.external).map((m) => m.mountPoint),
    ...svc.busy.keys(),
  ]);
}

/** The order Unmount / Remount offer mounts in: the one the status bar follows, then ours, then other tools'. */
export function byFollowed(svc: Services, mounts: readonly Mount[]): Mount[] {
  const followed = followedMount(svc)?.mountPoint;
  const rank = (m: Mount) => (m.mountPoint === followed ? 0 : m.external ? 2 : 1);
  return [...mounts].sort((a, b) => rank(a) - rank(b)); // stable: the registry's order within a rank
}

/** The live mounts (just looked at), the followed one first: what Prewarm and Link choose among. */
export async function liveMounts(svc: Services): Promise<Mount[]> {
  await svc.registry.refresh();
  return byFollowed(
    svc,
    svc.registry.mounts.filter((m) => m.state === 'mounted'),
  );
}

/** Remembers a mount made here: with no profile, the status bar follows the last one. */
export async function rememberMount(svc: Services, f: Followed): Promise<void> {
  await svc.context.globalState.update(LAST_MOUNT, { remote: f.remote, mountPoint: f.mountPoint });
}

/** "uploading 3 files" style counts. */
export const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
