// Starting and stopping mounts: the steps of mount, unmount, repair and remount, each run while
// the caller (MountRegistry) holds the mount point's lock, on canonical mount points.
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import * as l10n from '@vscode/l10n';
import { explainConfigError } from './config';
import { isRcloneError, RcloneError } from './errors';
import type { Logger } from './events';
import { listFolder } from './listing';
import { LogTail, logFileFor, prepareLog } from './mountLog';
import { readRcloneMounts } from './mountinfo';
import { createMountPoint, removeCreated } from './mountPoint';
import type { Mount, Mounted, MountOptions, RemountOptions } from './mounts';
import { checkAllowOther, checkMountPoint, findFusermount, fuseConf } from './preflight';
import { mountCommand, type MountProfile, sensitiveFlags } from './profile';
import { endProcess, freePort, processIdentity, sameProcess, processAlive, waitForExit } from './processes';
import { RcClient } from './rc';
import type { Rclone } from './rclone';
import { waitUntilReady } from './readiness';
import type { MountRecord, RecordStore } from './records';
import { fusermount, type UnmountOptions, waitForUploads } from './unmount';

/** What the steps need of the registry. */
export interface Host {
  readonly records: RecordStore;
  readonly stateDir: string;
  readonly log: Logger;
  readonly mountinfo?: string;
  rclone(): Promise<Rclone>;
  look(mountPoint: string): Promise<Mount | undefined>;
  note(mountPoint: string, m: Mount | undefined): void;
}

/** The counters of a mount before anything is known of them. */
export const blank = { external: false, pendingUploads: 0, outOfSpace: false, erroredFiles: 0 };

export class Lifecycle {
  constructor(private readonly host: Host) {}

  async mount(profile: MountProfile, opts: MountOptions): Promise<Mounted> {
    const { mountPoint } = profile;
    const current = await this.host.look(mountPoint);
    if (current?.state === 'stale') {
      throw new RcloneError(
        'Stale',
        l10n.t`${mountPoint} is a dead mount (its rclone is gone): "Transport endpoint is not connected".`,
      );
    }
    if (current) {
      if (current.remote.replace(/\/+$/, '') === profile.remote.replace(/\/+$/, ''))
        return { ...current, started: false };
      throw new RcloneError('AlreadyMounted', l10n.t`${mountPoint} already has ${current.remote} mounted.`);
    }
    const rclone = await this.host.rclone();
    const logs = join(this.host.stateDir, 'logs');
    // The rc's port first: finding one loads node:net (a few ms of CPU), which the file-system
    // calls below wait through. Independent checks and preparations at once.
    const freeRcPort = freePort();
    freeRcPort.catch(() => undefined); // awaited below, unless a check fails first
    await Promise.all([
      findFusermount(rclone.env),
      profile.allowOther ? checkAllowOther(process.getuid?.() ?? 0, fuseConf(process.env)) : undefined,
      checkMountPoint(mountPoint, profile.allowNonEmpty),
      mkdir(logs, { recursive: true, mode: 0o700 }),
    ]);
    const created = await createMountPoint(mountPoint);
    const logFile = logFileFor(logs, mountPoint);
    const log = new LogTail(logFile, await prepareLog(logFile));
    const rc = { port: await freeRcPort, user: 'rclone-devbox', pass: randomBytes(18).toString('base64url') };
    const rcHtpasswd = await this.host.records.putHtpasswd(mountPoint, rc.user, rc.pass);
    const run = { rcPort: rc.port, rcHtpasswd, logFile, uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
    // Only extra flags can carry a secret; rclone's option list is not asked for without them.
    const sensitive = profile.extraFlags?.length ? await sensitiveFlags(rclone) : new Set<string>();
    const { args, env } = mountCommand(profile, run, sensitive);
    this.host.log.info(`Mounting ${profile.remote} on ${mountPoint}: rclone ${args.join(' ')}`);
    const child = rclone.spawnDetached(args, env, logFile);
    const record: MountRecord = {
      ...rc,
      mountPoint,
      remote: profile.remote,
      pid: child.pid,
      identity: processIdentity(child.pid) ?? '',
      logFile,
      profile,
    };
    try {
      this.host.records.putNow(record); // in the spawn's tick: see putNow
      await waitUntilReady(
        rclone,
        { ...record, log, exited: child.exited, secrets: [rc.pass, ...Object.values(env)] },
        { ...opts, mountinfo: this.host.mountinfo },
      );
    } catch (e) {
      await this.undoMount(record, created);
      throw isRcloneError(e)
        ? await explainConfigError(rclone, e, profile.remote.slice(0, profile.remote.indexOf(':')))
        : e;
    }
    this.host.log.info(`Mounted ${profile.remote} on ${mountPoint} (rclone pid ${child.pid}).`);
    // Just seen answering: no need to ask it (or any other mount) again before returning.
    const mounted: Mount = {
      ...blank,
      mountPoint,
      remote: profile.remote,
      state: 'mounted',
      pid: child.pid,
      logFile,
      profile,
    };
    this.host.note(mountPoint, mounted);
    return { ...mounted, started: true };
  }

  private async undoMount(r: MountRecord, created: string | undefined): Promise<void> {
    await endProcess(r.pid, 5_000, 'mount', r.mountPoint);
    if (await this.isMounted(r.mountPoint)) await fusermount((await this.host.rclone()).env, r.mountPoint, '-uz');
    await removeCreated(r.mountPoint, created);
    await this.host.records.remove(r.mountPoint);
    this.host.note(r.mountPoint, undefined);
  }

  private async isMounted(mountPoint: string): Promise<boolean> {
    return (await readRcloneMounts(this.host.mountinfo)).some((e) => e.mountPoint === mountPoint);
  }

  async unmount(mountPoint: string, opts: UnmountOptions): Promise<void> {
    const m = await this.host.look(mountPoint);
    if (!m) return;
    if (m.state === 'stale') return this.repair(mountPoint);
    if (m.state === 'not answering') throw notAnswering(m);
    // The point is canonical already: its record is read directly, not looked up by path again.
    const r = await this.host.records.get(mountPoint);
    const rc = r && isOurs(r) ? new RcClient(r) : undefined;
    if (!opts.force) {
      if (!rc) {
        throw new RcloneError(
          'UploadsPending',
          l10n.t`${mountPoint} was mounted by another tool: its pending uploads cannot be counted.`,
          {
            fix: l10n.t('Unmount anyway only if nothing was written to it recently.'),
          },
        );
      }
      await waitForUploads(mountPoint, rc, opts);
    }
    await fusermount((await this.host.rclone()).env, mountPoint, '-u');
    if (m.pid !== undefined && !(await waitForExit(m.pid, 10_000, 'mount', mountPoint))) {
      await endProcess(m.pid, 5_000, 'mount', mountPoint);
    }
    await this.host.records.remove(mountPoint);
    this.host.note(mountPoint, undefined);
    this.host.log.info(`Unmounted ${mountPoint}.`);
  }

  async repair(mountPoint: string): Promise<void> {
    const m = await this.host.look(mountPoint);
    if (m?.state === 'not answering') throw notAnswering(m);
    if (m && m.state !== 'stale') {
      const message =
        m.state === 'mounted'
          ? l10n.t`${mountPoint} is not dead: ${m.remote} is mounted there.`
          : l10n.t`${mountPoint} is not dead: ${m.remote} is mounting there.`;
      throw new RcloneError('AlreadyMounted', message, {
        fix: l10n.t('Repair only cleans dead mounts. Use Unmount (it waits for uploads) or Remount.'),
      });
    }
    const r = await this.host.records.get(mountPoint);
    if (r && isOurs(r))
      throw new RcloneError('AlreadyMounted', l10n.t`${mountPoint} is still being mounted (rclone pid ${r.pid}).`);
    if (await this.isMounted(mountPoint)) await fusermount((await this.host.rclone()).env, mountPoint, '-uz');
    await this.host.records.remove(mountPoint);
    this.host.note(mountPoint, undefined);
    this.host.log.info(`Repaired ${mountPoint}.`);
  }

  /** See MountRegistry.remount; the caller holds the mount point's lock. */
  async remount(p: MountProfile, opts: RemountOptions): Promise<Mounted> {
    const m = await this.host.look(p.mountPoint);
    if (!m || m.state === 'mounting') return this.mount(p, opts);
    if (m.state === 'stale') {
      await this.repair(p.mountPoint);
      return this.mount(p, opts);
    }
    if (m.state === 'not answering') throw notAnswering(m);
    if (m.external || !m.profile) {
      throw new RcloneError(
        'AlreadyMounted',
        l10n.t`${p.mountPoint} was mounted by another tool; it was left as it is.`,
        {
          fix: l10n.t('Unmount it first (Unmount Anyway, once nothing is being written to it), then mount.'),
        },
      );
    }
    const previous = m.profile;
    await listFolder(await this.host.rclone(), p.remote, {
      limit: 1,
      timeoutMs: opts.timeoutMs ?? 30_000,
      signal: opts.signal,
    });
    await this.unmount(p.mountPoint, { signal: opts.signal, onProgress: opts.onProgress });
    try {
      return await this.mount(p, opts);
    } catch (e) {
      this.host.log.warn(
        `Remounting ${p.mountPoint} failed (${(e as Error).message}); mounting the previous profile again.`,
      );
      try {
        await this.mount(previous, { timeoutMs: opts.timeoutMs });
      } catch (again) {
        this.host.log.error(`The previous mount of ${p.mountPoint} could not be restored: ${(again as Error).message}`);
        throw e;
      }
      if (isRcloneError(e))
        throw new RcloneError(e.kind, l10n.t`${e.message} The previous mount was restored.`, {
          fix: e.fix,
          detail: e.detail,
        });
      throw e;
    }
  }
}

/** Is the record's rclone still running (the same process, not a reused pid)? */
export const isOurs = (r: MountRecord) =>
  r.identity
    ? sameProcess(r.pid, r.identity) && processAlive(r.pid, 'mount')
    : processAlive(r.pid, 'mount', r.mountPoint);

const notAnswering = (m: Mount) =>
  new RcloneError(
    'NotAnswering',
    m.pid
      ? l10n.t`${m.mountPoint} does not answer (rclone pid ${m.pid} is alive); it was left as it is.`
      : l10n.t`${m.mountPoint} does not answer; it was left as it is.`,
  );
