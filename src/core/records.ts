// What we know of the mounts we started (pid, rc port and credentials, log, profile): one small
// private file per mount point, so windows and the CLI that mount different points at once never
// overwrite each other's records. A record is written and removed only under its mount point's lock.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { chmod, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { MountProfile } from './profile';
import type { RcEndpoint } from './rc';

export interface MountRecord extends RcEndpoint {
  mountPoint: string;
  remote: string;
  pid: number;
  /** processIdentity(pid) when started: a reused pid is not our rclone. */
  identity: string;
  logFile: string;
  profile: MountProfile;
}

export const keyOf = (mountPoint: string) => createHash('sha256').update(mountPoint).digest('hex').slice(0, 16);

export class RecordStore {
  constructor(readonly dir: string) {}

  private file(mountPoint: string): string {
    return join(this.dir, `${keyOf(mountPoint)}.json`);
  }

  async list(): Promise<MountRecord[]> {
    const names = await readdir(this.dir).catch(() => []);
    // A temp file of putNow lives for a moment; one a minute old is a killed writer's, and holds an rc password.
    for (const name of names.filter((n) => n.endsWith('.tmp'))) {
      const path = join(this.dir, name);
      const info = await stat(path).catch(() => undefined);
      if (info && Date.now() - info.mtimeMs > 60_000) await rm(path, { force: true });
    }
    const records = await Promise.all(names.filter((n) => n.endsWith('.json')).map((n) => read(join(this.dir, n))));
    return records.filter((r): r is MountRecord => r !== undefined);
  }

  get(mountPoint: string): Promise<MountRecord | undefined> {
    return read(this.file(mountPoint)).then((r) => (r?.mountPoint === mountPoint ? r : undefined));
  }

  /**
   * Writes the record of an rclone just started, synchronously (temp file, rename): called in the
   * same tick as the spawn, so a window whose extension host exits between ticks (a reload) cannot
   * leave an rclone running without the record that holds its rc credentials.
   */
  putNow(record: MountRecord): void {
    const file = this.file(record.mountPoint);
    const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    try {
      writeFileSync(tmp, JSON.stringify(record, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
      renameSync(tmp, file);
    } catch (e) {
      rmSync(tmp, { force: true });
      throw e;
    }
  }

  /**
   * Writes the rc's htpasswd file for `mountPoint` (0600, beside its record): rclone checks the
   * credentials against it, so the password is never in rclone's argv or environment. `{SHA}` is
   * a format rclone reads; the password is 18 random bytes, so its hash gives nothing away.
   */
  async putHtpasswd(mountPoint: string, user: string, pass: string): Promise<string> {
    const file = join(this.dir, `${keyOf(mountPoint)}.htpasswd`);
    // Read once, by the rclone started next (under the mount point's lock): no reader can see it
    // half-written, so a plain write does, without the fsync and rename of writeAtomically on the
    // mount's path. A file of an earlier mount here is replaced; it stays 0600.
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await writeFile(file, `${user}:{SHA}${createHash('sha1').update(pass).digest('base64')}\n`, { mode: 0o600 });
    await chmod(file, 0o600);
    return file;
  }

  async remove(mountPoint: string): Promise<void> {
    await rm(this.file(mountPoint), { force: true });
    await rm(join(this.dir, `${keyOf(mountPoint)}.htpasswd`), { force: true });
  }
}

async function read(file: string): Promise<MountRecord | undefined> {
  try {
    const r = JSON.parse(await readFile(file, 'utf8')) as Partial<MountRecord>;
    const ok = typeof r.mountPoint === 'string' && typeof r.pid === 'number' && typeof r.port === 'number';
    return ok ? (r as MountRecord) : undefined;
  } catch {
    return undefined; // being replaced right now, or not ours: skip it
  }
}
