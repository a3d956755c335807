// Which mount is which, and whose: canonical mount points, records that survive concurrent writers
// (two windows, a window and the boot-time CLI), and mounts that are ours only if we started them.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isRcloneError } from '../../src/core/errors';
import { readRcloneMounts } from '../../src/core/mountinfo';
import { MountRegistry } from '../../src/core/mounts';
import { canonicalMountPoint } from '../../src/core/mountPoint';
import { Rclone } from '../../src/core/rclone';
import { bundleSnippet, runInParallel } from '../helpers/child';
import { s3Remote } from '../helpers/fixtures';
import { mountSuite, records, under } from '../helpers/mounts';

describe('mount identity', () => {
  const suite = mountSuite('rdb-id-', { 'cache_hub/.keep': '', 'cache_hub/gpt.pth': 'weights' });
  const fresh = () => suite.fresh();
  const mounted = async (dir: string) => (await readRcloneMounts()).filter((e) => e.mountPoint.startsWith(dir));

  it('canonicalises mount points: trailing slash, double slash, "." and a symlinked parent are one point', async () => {
    const dir = fresh();
    mkdirSync(join(dir, 'data', 'mnt'), { recursive: true });
    symlinkSync(join(dir, 'data', 'mnt'), join(dir, 'mnt')); // /mnt → /data/mnt on a box with a small root disk
    const real = join(dir, 'data', 'mnt', 'models');
    for (const spelling of [
      `${dir}/mnt/models/`,
      `${dir}/mnt//models`,
      `${dir}/mnt/./models`,
      `${dir}/data/mnt/models`,
    ]) {
      assert.equal(await canonicalMountPoint(spelling), real, spelling);
    }
    const m = await suite.registry.mount({
      remote: 's3:models',
      mountPoint: `${dir}/mnt/models/`,
      cacheDir: join(dir, 'cache'),
    });
    assert.equal(m.mountPoint, real);
    assert.equal(m.state, 'mounted');
    assert.equal(readFileSync(join(dir, 'mnt', 'models', 'cache_hub', 'gpt.pth'), 'utf8'), 'weights');
    assert.equal(
      suite.registry.find(`${dir}/mnt/models`)?.mountPoint,
      real,
      'found by the spelling it was mounted with',
    );
    const again = await suite.registry.mount({
      remote: 's3:models',
      mountPoint: `${dir}/mnt//models`,
      cacheDir: join(dir, 'cache'),
    });
    assert.deepEqual([again.pid, again.started], [m.pid, false]);
    await suite.registry.unmount(`${dir}/mnt/./models`);
    assert.deepEqual(await mounted(dir), []);
  });

  it('a failed mount under a symlinked parent leaves no dead mount behind', async () => {
    const dir = fresh();
    mkdirSync(join(dir, 'data', 'mnt'), { recursive: true });
    symlinkSync(join(dir, 'data', 'mnt'), join(dir, 'mnt'));
    const conf = join(dir, 'bad.conf');
    writeFileSync(conf, s3Remote('s3', suite.box.s3.endpoint, 'S3RVER', 'NOT-A-KEY'), { mode: 0o600 });
    const bad = new MountRegistry(await Rclone.locate({ configFile: conf }), { stateDir: join(dir, 'state') });
    await assert.rejects(
      bad.mount({ remote: 's3:models', mountPoint: join(dir, 'mnt', 'models'), cacheDir: join(dir, 'cache') }),
      (e) => isRcloneError(e, 'AuthFailed'),
    );
    assert.deepEqual(await mounted(dir), []);
    assert.deepEqual(records(join(dir, 'state')), []);
    bad.dispose();
  });

  it('keeps every record when 10 processes mount and then unmount 10 points at once', async () => {
    const dir = fresh();
    const stateDir = join(dir, 'state');
    const script = bundleSnippet(
      dir,
      'mounter',
      `import { MountRegistry } from './src/core/mounts';
       import { Rclone } from './src/core/rclone';
       const [, , i, action] = [...process.argv, process.env.ACTION];
       (async () => {
         const reg = new MountRegistry(await Rclone.locate({ configFile: ${JSON.stringify(suite.box.configFile)} }), {
           stateDir: ${JSON.stringify(stateDir)},
         });
         const mountPoint = ${JSON.stringify(dir)} + '/mnt/m' + i;
         if (action === 'mount') {
           const m = await reg.mount({ remote: 's3:models', mountPoint, cacheDir: ${JSON.stringify(dir)} + '/cache' + i });
           process.stdout.write(JSON.stringify({ pid: m.pid, started: m.started }));
         } else {
           await reg.unmount(mountPoint);
           process.stdout.write(JSON.stringify(reg.find(mountPoint) ?? 'gone'));
         }
         reg.dispose();
       })().catch((e) => { process.stderr.write(String(e.stack)); process.exit(1); });`,
    );
    const outs = await runInParallel(script, 10, { ...suite.box.rclone.env, ACTION: 'mount' });
    assert.ok(outs.every((o) => (JSON.parse(o) as { started: boolean }).started));
    assert.equal(records(stateDir).length, 10);
    const mine = under(dir, await suite.registry.refresh());
    assert.equal(mine.length, 10);
    for (const m of mine) {
      assert.deepEqual([m.state, m.external], ['mounted', false], m.mountPoint);
      assert.equal(await (await suite.registry.rc(m.mountPoint))!.pid(), m.pid, 'its rc credentials are there');
    }
    const said = await runInParallel(script, 10, { ...suite.box.rclone.env, ACTION: 'unmount' });
    const left = under(dir, await suite.registry.refresh());
    assert.deepEqual(left, [], `still there after every unmount returned: ${JSON.stringify({ left, said })}`);
    assert.deepEqual(records(stateDir), []);
  });

  it('mounting what another window (or tool) mounted returns it as not started here', async () => {
    const dir = fresh();
    const other = new MountRegistry(suite.box.rclone, { stateDir: join(dir, 'state') });
    const profile = { remote: 's3:models', mountPoint: join(dir, 'mnt'), cacheDir: join(dir, 'cache') };
    const first = await other.mount(profile);
    const second = await suite.registry.mount(profile);
    assert.deepEqual([first.started, second.started, second.pid], [true, false, first.pid]);
    other.dispose();
    await suite.registry.unmount(profile.mountPoint);
  });

  it('a failed mount removes every folder it created, and only those', async () => {
    const dir = fresh();
    const conf = join(dir, 'bad.conf');
    writeFileSync(conf, s3Remote('s3', suite.box.s3.endpoint, 'S3RVER', 'NOT-A-KEY'), { mode: 0o600 });
    const bad = new MountRegistry(await Rclone.locate({ configFile: conf }), { stateDir: join(dir, 'state') });
    mkdirSync(join(dir, 'mine'));
    await assert.rejects(
      bad.mount({ remote: 's3:models', mountPoint: join(dir, 'mine', 'a', 'b', 'c'), cacheDir: join(dir, 'cache') }),
    );
    assert.equal(existsSync(join(dir, 'mine', 'a')), false, 'a/b/c made for the mount are gone');
    assert.equal(existsSync(join(dir, 'mine')), true, 'the folder that was there stays');
    bad.dispose();
  });
});
