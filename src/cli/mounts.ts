// The CLI's mount commands: mounts, mount, unmount, repair. Loaded only when one of them runs, so
// that `ls` and `remotes` do not pay for the mount registry's code at start-up.
import * as l10n from '@vscode/l10n';
import type { Logger } from '../core/events';
import { FIXES, RcloneError, say } from '../core/errors';
import { cacheTrouble, type Mount, MountRegistry } from '../core/mounts';
import { type MountProfile, sensitiveFlags } from '../core/profile';
import type { Rclone } from '../core/rclone';
import type { Options, Values } from './args';
import { type Context, cliFix, describe } from './fixes';

export interface Io {
  out(line: string): void;
  err(line: string): void;
  log: Logger;
  signal: AbortSignal;
  /** What an error's fix may name; a command fills in its mount point once it knows it. */
  context: Context;
  /** Rewrites one status line on stderr; undefined when stderr is not a terminal (no progress then). */
  status?: (line: string) => void;
}

export async function mountCommand(
  command: 'mounts' | 'mount' | 'unmount' | 'repair',
  [a, b]: string[],
  o: Options,
  v: Values,
  rclone: Rclone,
  io: Io,
): Promise<number> {
  const registry = new MountRegistry(rclone, { log: io.log });
  const { signal } = io;
  switch (command) {
    case 'mounts':
      return mounts(registry, o.json === true, io);
    case 'mount': {
      const m = await registry.mount(
        {
          remote: a!,
          mountPoint: b!,
          cacheMode: v.cacheMode,
          cacheDir: o['cache-dir'],
          cacheMaxSize: o['cache-max-size'],
          allowOther: o['allow-other'],
          allowNonEmpty: o['allow-non-empty'],
        },
        { signal, timeoutMs: v.timeoutMs },
      );
      io.out(
        m.started
          ? l10n.t`${m.remote} is mounted on ${m.mountPoint} (rclone pid ${String(m.pid)}, log ${String(m.logFile)})`
          : l10n.t`${m.remote} was already mounted on ${m.mountPoint}`,
      );
      return 0;
    }
    case 'unmount': {
      const dir = await registry.canonical(a!);
      if (!(await registry.refresh()).some((m) => m.mountPoint === dir)) {
        io.err(l10n.t`Nothing is mounted on ${a!}.`);
        return 1;
      }
      // Progress is polled every 250 ms: say it only when the count changes, not on every look.
      let last = 0;
      await registry.unmount(dir, {
        force: o.force,
        waitMs: v.waitMs,
        signal,
        onProgress: (n) => {
          if (n > 0 && n !== last)
            io.err(n === 1 ? l10n.t('waiting for 1 upload…') : l10n.t`waiting for ${n} uploads…`);
          last = n;
        },
      });
      io.out(l10n.t`${a!} is unmounted`);
      return 0;
    }
    case 'repair': {
      const dir = await registry.canonical(a!);
      const known = (await registry.refresh()).some((m) => m.mountPoint === dir);
      if (!known && !(await registry.records.get(dir))) {
        io.err(l10n.t`Nothing is mounted on ${a!}: there is no dead mount to repair.`);
        return 1;
      }
      await registry.repair(dir);
      io.out(l10n.t`${a!} is repaired`);
      return 0;
    }
  }
}

async function mounts(registry: MountRegistry, json: boolean, io: Io): Promise<number> {
  const all = await registry.refresh();
  if (json) {
    // The record keeps a profile's secret flags (a remount needs them); what is printed does not.
    const shownProfile = async (p: MountProfile | undefined) => {
      if (!p?.extraFlags?.length) return p;
      const sensitive = await sensitiveFlags(await registry.rclone());
      const flags = [...p.extraFlags];
      // "--b2-key=V" or "--b2-key V", as splitSecretFlags reads them.
      for (let i = 0; i < flags.length; i++) {
        const m = /^--([a-z0-9][a-z0-9-]*)(=?)/.exec(flags[i]!);
        if (!m || !sensitive.has(m[1]!)) continue;
        if (m[2]) flags[i] = `--${m[1]}=***`;
        else if (i + 1 < flags.length) flags[++i] = '***';
      }
      return { ...p, extraFlags: flags };
    };
    const rcState = async (dir: string) => {
      const rc = await registry.rc(dir);
      return rc
        ? rc.pid().then(
            () => 'answers',
            () => 'down',
          )
        : 'none';
    };
    const withRc = await Promise.all(
      all.map(async (m) => ({
        ...m,
        // As `status --json` says it: null when nothing is known to be wrong (or the mount does not answer).
        credentials: credentialsOf(m),
        profile: await shownProfile(m.profile),
        rc: await rcState(m.mountPoint),
      })),
    );
    io.out(JSON.stringify(withRc, null, 2));
    tellCredentials(all, io);
    return 0;
  }
  for (const m of all) {
    // A listing for scripts: the same words in every language.
    const troubles = [credentialsTroubleInEnglish(m), cacheTroubleInEnglish(m)].filter(Boolean);
    const state = m.external ? 'external' : `pid ${m.pid}`;
    io.out([m.mountPoint, m.remote, m.state, state, `${m.pendingUploads} pending`, ...troubles].join('\t'));
  }
  if (all.some(cacheTrouble)) io.err(cliFix({ kind: 'CacheFull', fix: FIXES.CacheFull }));
  tellCredentials(all, io);
  return 0;
}

/** A live mount's credentials trouble ('expired', 'refused'); null when none is known (or it does not answer). */
export const credentialsOf = (m: Pick<Mount, 'state' | 'credentials'>): 'expired' | 'refused' | null =>
  (m.state === 'mounted' && m.credentials) || null;

/** core's credentialsTrouble() in English whatever the user's language, for the `mounts` listing. */
export function credentialsTroubleInEnglish(m: Pick<Mount, 'state' | 'credentials'>): string | undefined {
  const trouble = credentialsOf(m);
  return trouble === 'expired' ? 'credentials expired' : trouble === 'refused' ? 'credentials refused' : undefined;
}

/** Each remote whose credentials a live mount found expired or refused, on stderr: what it is, and the fix. */
export function tellCredentials(mounts: readonly Mount[], io: Io): void {
  const told = new Set<string>();
  for (const m of mounts) {
    const trouble = credentialsOf(m);
    if (!trouble) continue;
    const e =
      trouble === 'expired'
        ? new RcloneError('CredentialsExpired', say.credentialsExpired(m.remote))
        : new RcloneError('AuthFailed', say.credentialsRefused(m.remote));
    if (told.has(e.message)) continue;
    told.add(e.message);
    io.err(describe(e, false, io.context).trimEnd());
  }
}

/**
 * core's cacheTrouble() in English whatever the user's language, for what scripts read (the tab-separated
 * `mounts` listing, `status --json`): the same words as core's English, which the user sees translated.
 */
export function cacheTroubleInEnglish(m: Pick<Mount, 'outOfSpace' | 'erroredFiles'>): string | undefined {
  if (m.outOfSpace) return 'cache disk full: writes fail';
  if (m.erroredFiles)
    return m.erroredFiles === 1 ? '1 file failed in the cache' : `${m.erroredFiles} files failed in the cache`;
  return undefined;
}
