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
import { mountCommand, type MountProfile } from '../../src/core/profile';
import { processAlive } from '../../src/core/processes';
import { Rclone } from '../../src/core/rclone';
import { type Box, putObjects, ROOT, s3Remote, startBox, tempDir } from '../helpers/fixtures';
import { cleanUp, records, under, waitFor } from '../helpers/mounts';

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
    const state = join(work.path, 'state', 'mounts');
    assert.equal(records(join(work.path, 'state')).length, 1);
    for (const f of readdirSync(state)) assert.equal(statSync(join(state, f)).mode & 0o777, 0o600);
    await reg.unmount(m.mountPoint);
    assert.equal(
      (await readRcloneMounts()).some((e) => e.mountPoint === m.mountPoint),
      false,
    );
    assert.equal(processAlive(m.pid!), false, 'rclone ended');
  });

  it('keeps secrets off argv and guards its rc with random credentials', async () => {
    const reg = fresh();
    // At DEBUG rclone logs every option it reads from its environment, value included: the rc's
    // credentials are in neither (an htpasswd file of the record's), so its log holds no password.
    const m = await reg.mount({ ...profile(), logLevel: 'DEBUG' });
    assert.equal(
      readFileSync(`/proc/${m.pid}/environ`, 'utf8')
        .split('\0')
        .filter((v) => v.startsWith('RCLONE_RC_')).length,
      0,
      "no rc credentials in rclone's environment",
    );
    const argv = readFileSync(`/proc/${m.pid}/cmdline`, 'utf8').split('\0');
    const record = records(join(work.path, 'state'))[0]!;
    assert.ok(record.pass.length >= 20);
    assert.ok(!argv.some((a) => a.includes(record.pass) || a.includes('S3RVER')), argv.join(' '));
    assert.ok(!argv.includes('--rc-no-auth'));
    assert.ok(argv.includes('--rc-addr') && argv[argv.indexOf('--rc-addr') + 1] === `127.0.0.1:${record.port}`);
    const anonymous = await fetch(`http://127.0.0.1:${record.port}/core/pid`, { method: 'POST' });
    assert.equal(anonymous.status, 401);
    assert.equal(await (await reg.rc(m.mountPoint))!.pid(), m.pid);
    const log = readFileSync(m.logFile!, 'utf8');
    assert.ok(!log.includes(record.pass) && !log.includes('S3RVER'), 'no secret in the mount log');
  });

  it("builds the seed script's flags from a profile, as an argument array", () => {
    const run = { rcPort: 5572, logFile: '/l', uid: 1000, gid: 1000 };
    const { args, env } = mountCommand(
      { remote: 's3:models', mountPoint: '/mnt/x y', allowOther: true, extraFlags: ['--vfs-read-ahead', '64M'] },
      run,
      new Set(['s3-secret-access-key']),
    );
    assert.deepEqual(args.slice(-4), ['64M', '--', 's3:models', '/mnt/x y']);
    assert.deepEqual(env, {});
    for (const flag of [
      '--vfs-cache-mode writes',
      '--uid 1000',
      '--gid 1000',
      '--timeout 1h',
      '--transfers 4',
      '--checkers 8',
      '--retries 3',
      '--log-level INFO',
    ]) {
      assert.ok(args.join(' ').includes(flag), flag);
    }
    assert.ok(args.includes('--allow-other') && !args.includes('--daemon'));
    const secret = mountCommand(
      { remote: 's3:m', mountPoint: '/m', extraFlags: ['--s3-secret-access-key=abc'] },
      run,
      new Set(['s3-secret-access-key']),
    );
    assert.ok(!secret.args.join(' ').includes('abc'));
    assert.deepEqual(secret.env, { RCLONE_S3_SECRET_ACCESS_KEY: 'abc' });
    assert.throws(
      () => mountCommand({ remote: 's3:m', mountPoint: '/m', extraFlags: ['--rc-no-auth'] }, run, new Set()),
      /set by Rclone Dev Box/,
    );
    assert.throws(() => mountCommand({ remote: 's3:m', mountPoint: 'relative' }, run, new Set()), /absolute/);
  });

  it('bad credentials: AuthFailed in under 10 s, nothing left behind', async () => {
    const reg = fresh();
    const file = join(work.path, 'bad.conf');
    writeFileSync(file, s3Remote('s3', box.s3.endpoint, 'S3RVER', 'NOT-A-KEY'), { mode: 0o600 });
    const bad = new MountRegistry(await Rclone.locate({ configFile: file }), { stateDir: join(work.path, 'state') });
    const p = profile();
    const t0 = Date.now();
    await assert.rejects(bad.mount(p), (e) => isRcloneError(e, 'AuthFailed'));
    assert.ok(Date.now() - t0 < 10_000, `took ${Date.now() - t0} ms`);
    assert.equal(
      (await readRcloneMounts()).some((e) => e.mountPoint === p.mountPoint),
      false,
    );
    assert.equal(existsSync(p.mountPoint), false, 'the mount point we created is removed again');
    assert.deepEqual(under(work.path, await reg.refresh()), []);
  });

  it('dead endpoint: Unreachable within its bound', async () => {
    const reg = fresh();
    const file = join(work.path, 'dead.conf');
    writeFileSync(file, s3Remote('s3', 'http://127.0.0.1:9'), { mode: 0o600 });
    const dead = new MountRegistry(await Rclone.locate({ configFile: file }), { stateDir: join(work.path, 'state') });
    const t0 = Date.now();
    await assert.rejects(dead.mount(profile(), { timeoutMs: 20_000 }), (e) => isRcloneError(e, 'Unreachable'));
    assert.ok(Date.now() - t0 < 25_000, `took ${Date.now() - t0} ms`);
    assert.deepEqual(under(work.path, await reg.refresh()), []);
  });

  it('missing bucket: BucketNotFound', async () => {
    fresh();
    await assert.rejects(registry.mount(profile({ remote: 's3:no-such-bucket' })), (e) =>
      isRcloneError(e, 'BucketNotFound'),
    );
  });

  it('mount point not empty: refused, nothing touched', async () => {
    const reg = fresh();
    const p = profile();
    mkdirSync(p.mountPoint, { recursive: true });
    writeFileSync(join(p.mountPoint, 'local.bin'), 'mine');
    await assert.rejects(reg.mount(p), (e) => isRcloneError(e, 'MountPointNotEmpty'));
    assert.deepEqual(readdirSync(p.mountPoint), ['local.bin']);
    assert.equal(readFileSync(join(p.mountPoint, 'local.bin'), 'utf8'), 'mine');
    assert.deepEqual(under(work.path, await reg.refresh()), []);
  });

  it('mounting what is mounted returns the same mount; another remote on it is refused and the mount stays', async () => {
    const reg = fresh();
    const first = await reg.mount(profile());
    const again = await reg.mount(profile());
    assert.equal(again.pid, first.pid);
    await assert.rejects(reg.mount(profile({ remote: 's3:other' })), (e) => isRcloneError(e, 'AlreadyMounted'));
    assert.equal(readFileSync(join(first.mountPoint, 'cache_hub', 'gpt.pth'), 'utf8'), 'weights');
    await reg.unmount(first.mountPoint);
  });

  it('two mounts started at once on the same point end with one mount', async () => {
    fresh();
    const other = new MountRegistry(box.rclone, { stateDir: join(work.path, 'state') });
    const [a, b] = await Promise.allSettled([registry.mount(profile()), other.mount(profile())]);
    assert.equal(a.status, 'fulfilled');
    assert.equal(b.status, 'fulfilled');
    assert.equal(
      (a as PromiseFulfilledResult<{ pid?: number }>).value.pid,
      (b as PromiseFulfilledResult<{ pid?: number }>).value.pid,
    );
    assert.equal((await readRcloneMounts()).filter((e) => e.mountPoint === profile().mountPoint).length, 1);
    await registry.unmount(profile().mountPoint);
    other.dispose();
  });

  it('unmount waits out a folder held open for a moment, and says "in use" when it stays open', async () => {
    const reg = fresh();
    const m = await reg.mount(profile());
    // A process whose working directory is in the mount keeps it busy until it ends.
    const holder = execa('sleep', ['30'], { cwd: join(m.mountPoint, 'cache_hub'), reject: false });
    try {
      await waitFor(() => existsSync(`/proc/${holder.pid}/cwd`));
      await assert.rejects(reg.unmount(m.mountPoint, { waitMs: 0 }), (e) => isRcloneError(e, 'MountBusy'));
      await reg.refresh();
      assert.equal(reg.find(m.mountPoint)?.state, 'mounted', 'a refused unmount leaves the mount up');
      setTimeout(() => holder.kill('SIGKILL'), 300); // let go while the unmount is trying
      await reg.unmount(m.mountPoint, { waitMs: 0 });
      assert.equal(
        (await readRcloneMounts()).some((e) => e.mountPoint === m.mountPoint),
        false,
      );
    } finally {
      holder.kill('SIGKILL');
      await holder;
    }
  });

  it('a second process sees the mount and talks to its rc', async () => {
    work = tempDir('rdb-mnt-');
    const xdg = join(work.path, 'xdg');
    registry = new MountRegistry(box.rclone, { stateDir: join(xdg, 'rclone-devbox') });
    const m = await registry.mount(profile());
    const cli = await execa(process.execPath, [join(ROOT, 'dist/cli.js'), 'mounts', '--json'], {
      // its caches in the test's folder too, never in ~/.cache
      env: {
        ...box.rclone.env,
        XDG_STATE_HOME: xdg,
        XDG_CACHE_HOME: join(xdg, 'cache'),
        RCLONE_CONFIG: box.configFile,
      },
    });
    const seen = (
      JSON.parse(String(cli.stdout)) as {
        mountPoint: string;
        pid: number;
        state: string;
        rc: string;
        external: boolean;
      }[]
    ).find((x) => x.mountPoint === m.mountPoint);
    assert.deepEqual(seen && [seen.pid, seen.state, seen.rc, seen.external], [m.pid, 'mounted', 'answers', false]);
    await registry.unmount(m.mountPoint);
  });

  it('fires onDidChange on mount and unmount', async () => {
    const reg = fresh();
    const seen: string[] = [];
    reg.onDidChange((mounts) =>
      seen.push(
        under(work.path, mounts)
          .map((m) => m.state)
          .join(',') || 'none',
      ),
    );
    const m = await reg.mount(profile());
    await reg.unmount(m.mountPoint);
    assert.ok(seen.includes('mounted'), seen.join(' '));
    assert.equal(seen.at(-1), 'none');
  });

  it('recognises a mount started by the seed script as external, and will not unmount it blindly', async () => {
    const reg = fresh();
    const dir = join(work.path, 'seed mount');
    mkdirSync(dir);
    await execa(
      box.rclone.path,
      [
        '--config',
        box.configFile,
        'mount',
        's3:models',
        dir,
        '--vfs-cache-mode',
        'writes',
        '--cache-dir',
        join(work.path, 'cache'),
        '--daemon',
      ],
      { env: box.rclone.env, extendEnv: false },
    );
    const m = (await reg.refresh()).find((x) => x.mountPoint === dir);
    assert.deepEqual(m && [m.state, m.external, m.remote], ['mounted', true, 's3:models']);
    await assert.rejects(reg.unmount(dir), (e) => isRcloneError(e, 'UploadsPending') && /another tool/.test(e.message));
    assert.ok(reg.find(dir));
    await reg.unmount(dir, { force: true });
    assert.equal(
      (await readRcloneMounts()).some((e) => e.mountPoint === dir),
      false,
    );
  });

  it('parses mountinfo escapes', () => {
    assert.equal(decodeMountPath('/mnt/a\\040b\\011c\\134d'), '/mnt/a b\tc\\d');
    const line =
      '312 29 0:66 / /mnt/index\\040tts rw,nosuid,nodev,relatime shared:1 - fuse.rclone s3:models rw,user_id=0,group_id=0';
    assert.deepEqual(parseMountinfo(line), [
      { mountPoint: '/mnt/index tts', fsType: 'fuse.rclone', source: 's3:models' },
    ]);
  });
});

describe('unmount loses nothing', () => {
  let box: Box;
  let work: ReturnType<typeof tempDir>;
  let registry: MountRegistry;
  before(async () => {
    box = await startBox(['models']);
    await putObjects(box, 'models', { 'up/.keep': '' });
  });
  after(() => box.dispose());
  afterEach(async () => {
    registry.dispose();
    await cleanUp([work.path]);
    work.dispose();
  });
  const setup = (extraFlags: string[]): MountProfile => {
    work = tempDir('rdb-up-');
    registry = new MountRegistry(box.rclone, { stateDir: join(work.path, 'state') });
    return {
      remote: 's3:models/up',
      mountPoint: join(work.path, 'mnt'),
      cacheDir: join(work.path, 'cache'),
      extraFlags,
    };
  };
  const objectSize = async (name: string) =>
    (await listFolder(box.rclone, 's3:models/up')).entries.find((e) => e.name === name)?.size;

  it('waits for an upload in flight, with progress, and the object arrives', async () => {
    // a 1 MiB/s link and a 3 MiB file: the upload starts a second after close and takes three
    const p = setup(['--vfs-write-back', '1s', '--bwlimit', '1M']);
    const m = await registry.mount(p);
    writeFileSync(join(m.mountPoint, 'model.bin'), Buffer.alloc(3 * 1024 * 1024, 7));
    const progress: number[] = [];
    await registry.unmount(m.mountPoint, { onProgress: (n) => progress.push(n) });
    assert.ok(
      progress.some((n) => n > 0),
      `uploads were seen pending: ${progress.join(',')}`,
    );
    assert.equal(progress.at(-1), 0);
    assert.equal(await objectSize('model.bin'), 3 * 1024 * 1024);
  });

  it('refuses, saying how many files are uploading, when told not to wait; stays mounted', async () => {
    const p = setup(['--vfs-write-back', '60s']);
    const m = await registry.mount(p);
    writeFileSync(join(m.mountPoint, 'a.bin'), 'a');
    writeFileSync(join(m.mountPoint, 'b.bin'), 'b');
    await waitFor(
      async () => (await registry.refresh()).find((x) => x.mountPoint === m.mountPoint)?.pendingUploads === 2,
    );
    await assert.rejects(
      registry.unmount(m.mountPoint, { waitMs: 0 }),
      (e) => isRcloneError(e, 'UploadsPending') && /^2 files are still uploading/.test(e.message),
    );
    assert.equal((await registry.refresh()).find((x) => x.mountPoint === m.mountPoint)?.state, 'mounted');
    assert.equal((await registry.refresh()).find((x) => x.mountPoint === m.mountPoint)?.pendingUploads, 2);
    await registry.unmount(m.mountPoint, { force: true }); // they stay in the cache
  });

  it('after kill -9: stale detected, repaired, remounted, and the pending file is uploaded', async () => {
    const p = setup(['--vfs-write-back', '60s']);
    const m = await registry.mount(p);
    writeFileSync(join(m.mountPoint, 'unsent.bin'), 'not yet uploaded');
    // rclone queues the upload when the kernel passes on the close, just after close() returns
    await waitFor(
      async () => (await registry.refresh()).find((x) => x.mountPoint === m.mountPoint)?.pendingUploads === 1,
    );
    process.kill(m.pid!, 'SIGKILL');
    await waitFor(async () => (await registry.refresh()).find((x) => x.mountPoint === m.mountPoint)?.state === 'stale');
    assert.throws(() => readdirSync(m.mountPoint), /ENOTCONN|ECONNABORTED|not connected/);
    assert.equal(await objectSize('unsent.bin'), undefined, 'not uploaded before the remount');

    const again = await registry.remount({ ...p, extraFlags: ['--vfs-write-back', '0s'] });
    assert.equal(again.state, 'mounted');
    assert.notEqual(again.pid, m.pid);
    await waitFor(async () => (await objectSize('unsent.bin')) === 16);
    await registry.unmount(again.mountPoint);
  });
});
