// Helpers for tests that mount: they look only at what they made (a real box has other people's
// rclone mounts, even of a bucket with the same name), and clean up whatever a failing test left.
import { execa } from 'execa';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readRcloneMounts } from '../../src/core/mountinfo';
import { type Mount, MountRegistry } from '../../src/core/mounts';
import type { MountRecord } from '../../src/core/records';
import { after, afterEach, before } from 'node:test';
import { type Box, putObjects, startBox, tempDir } from './fixtures';
import { rclonePidsWhere } from './procs';

/** Mounts under `dir` (a test's own temp dir). */
export const under = (dir: string, mounts: readonly Mount[]) =>
  mounts.filter((m) => m.mountPoint.startsWith(`${dir}/`));

/** Unmounts (lazily) and kills whatever a test left under `dirs`, so a failing test cannot leak a mount. */
export async function cleanUp(dirs: string[]): Promise<void> {
  for (const m of await readRcloneMounts()) {
    if (dirs.some((d) => m.mountPoint.startsWith(d)))
      await execa('fusermount3', ['-uz', m.mountPoint], { reject: false });
  }
  for (const pid of rclonePidsWhere((argv) => dirs.some((d) => argv.some((a) => a.includes(d))))) {
    try {
      process.kill(pid, 'SIGCONT'); // a test may have stopped it
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
}

/** The records a registry with this state dir keeps (one file per mount point). */
export function records(stateDir: string): MountRecord[] {
  const dir = join(stateDir, 'mounts');
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter((n) => n.endsWith('.json'))
    .map((n) => JSON.parse(readFileSync(join(dir, n), 'utf8')) as MountRecord);
}

export async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((ok) => setTimeout(ok, 50));
  }
}

/**
 * The hooks of a suite that mounts from one S3 server: `s.fresh()` gives each test its own temp
 * dir and registry; whatever a test mounted under its dir is cleaned up after it, even on failure.
 */
export function mountSuite(prefix: string, objects: Record<string, string>) {
  const s = {} as { box: Box; work: ReturnType<typeof tempDir> | undefined; registry: MountRegistry; fresh(): string };
  before(async () => {
    s.box = await startBox(['models']);
    await putObjects(s.box, 'models', objects);
  });
  after(() => s.box?.dispose());
  afterEach(async () => {
    s.registry?.dispose();
    if (s.work) await cleanUp([s.work.path]);
    s.work?.dispose();
  });
  s.fresh = () => {
    s.work = tempDir(prefix);
    s.registry = new MountRegistry(s.box.rclone, { stateDir: join(s.work.path, 'state') });
    return s.work.path;
  };
  return s;
}
