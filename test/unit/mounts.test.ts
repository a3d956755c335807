// The mount lifecycle with real rclone mounts on real FUSE against a real S3 server.
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { isRcloneError } from '../../src/core/errors';
import { listFolder } from '../../src/core/listing';
import { decodeMountPath, parseMountinfo, readRcloneMounts } from '../../src/core/mountinfo';
import { MountRegistry } from '../../src/core/mounts';
import { mountArgs, type MountProfile } from '../../src/core/profile';
import { processAlive } from '../../src/core/processes';
import { Rclone } from '../../src/core/rclone';
import { type Box, putObjects, ROOT, s3Remote, startBox, tempDir } from '../helpers/fixtures';

/** Unmounts (lazily) and kills whatever a test left, so a failing test cannot leak a mount. */
async function cleanUp(dirs: string[]): Promise<void> {
  for (const m of await readRcloneMounts()) {
    if (dirs.some((d) => m.mountPoint.startsWith(d))) await execa('fusermount3', ['-uz', m.mountPoint], { reject: false });
  }
  const { stdout } = await execa('pgrep', ['-f', '-a', 'rclone'], { reject: false });
  for (const line of String(stdout).split('\n')) {
    const [pid] = line.split(' ');
    if (pid && dirs.some((d) => line.includes(d))) process.kill(Number(pid), 'SIGKILL');
  }
}

describe('mount lifecycle', () => {
  let box: Box;
  let work: ReturnType<typeof tempDir>;
  let registry: MountRegistry;
  const profile = (extra: Partial<MountProfile> = {}): MountProfile => ({
    remote: 's3:models',
    mountPoint: join(work.path, 'mnt', 'index tts ü'),
    cacheDir: join(work.path, 'cache'),
    ...extra,
  });

  before(async () => {
    box = await startBox(['models']);
    await putObjects(box, 'models', { 'cache_hub/.keep': '', 'cache_hub/gpt.pth': 'weights' });
  });
  after(() => box.dispose());
  afterEach(async () => {
    registry?.dispose();
    await cleanUp([work.path]);
    work.dispose();
  });
  const fresh = () => {
    work = tempDir('rdb-mnt-');
    registry = new MountRegistry(box.rclone, { stateDir: join(work.path, 'state') });
    return registry;
  };

  it('mounts, is ready when it returns, and the files are readable', async () => {
    const reg = fresh();
    const m = await reg.mount(profile());
    assert.equal(m.state, 'mounted');
    assert.equal(m.external, false);
    assert.equal(readFileSync(join(m.mountPoint, 'cache_hub', 'gpt.pth'), 'utf8'), 'weights');
    assert.ok((await readRcloneMounts()).some((e) => e.mountPoint === m.mountPoint && e.source === 's3:models'));
    const state = join(work.path, 'state', 'mounts.json');
    assert.equal(statSync(state).mode & 0o777, 0o600);
    await reg.unmount(m.mountPoint);
    assert.equal((await readRcloneMounts()).some((e) => e.mountPoint === m.mountPoint), false);
    assert.equal(processAlive(m.pid!), false, 'rclone ended');
  });
});
