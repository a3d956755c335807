// When mounting goes wrong: rclone's own reason is told, logs are read by the byte and kept
// bounded, a failed remount keeps the old mount, repair touches only what is dead, a full cache
// is shown, and errors keep their kind.
import assert from 'node:assert/strict';
import { execa } from 'execa';
import {
  appendFileSync,
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { classify, FIXES, isRcloneError, type RcloneError } from '../../src/core/errors';
import { listFolder } from '../../src/core/listing';
import { LOG_CAP_BYTES, LogTail, logFileFor } from '../../src/core/mountLog';
import { cacheTrouble } from '../../src/core/mounts';
import { processAlive } from '../../src/core/processes';
import { bundleSnippet } from '../helpers/child';
import { ROOT } from '../helpers/fixtures';
import { cleanUp, mountSuite, waitFor } from '../helpers/mounts';

const NOBODY = 65534;

describe('mount failures', () => {
  const suite = mountSuite('rdb-fail-', { 'cache_hub/.keep': '', 'cache_hub/gpt.pth': 'weights' });
  const fresh = () => suite.fresh();
  const profile = (dir: string, extra = {}) => ({
    remote: 's3:models',
    mountPoint: join(dir, 'mnt'),
    cacheDir: join(dir, 'cache'),
    ...extra,
  });

  it("says rclone's own reason when it exits at once, also after a log full of non-ASCII lines", async () => {
    const dir = fresh();
    const p = profile(dir, { extraFlags: ['--vfs-read-ahead', 'abc'] });
    const log = logFileFor(join(dir, 'state', 'logs'), p.mountPoint);
    mkdirSync(join(dir, 'state', 'logs'), { recursive: true });
    writeFileSync(log, '2026/11/01 10:00:00 INFO  : 模型/检查点.pth: 已上传\n'.repeat(2_000));
    await assert.rejects(
      suite.registry.mount(p),
      (e: RcloneError) => /invalid argument "abc" for "--vfs-read-ahead"/.test(e.message) && existsSync(log),
    );
    assert.equal(existsSync(p.mountPoint), false);
  });

  it('gives each mount point its own log (also when the names are not ASCII) and rotates a big one', async () => {
    const logs = '/var/log/x';
    assert.notEqual(logFileFor(logs, '/mnt/模型'), logFileFor(logs, '/mnt/数据'));
    const dir = fresh();
    const p = profile(dir);
    const log = logFileFor(join(dir, 'state', 'logs'), p.mountPoint);
    mkdirSync(join(dir, 'state', 'logs'), { recursive: true });
    writeFileSync(log, Buffer.alloc(LOG_CAP_BYTES + 1, 0x41));
    const m = await suite.registry.mount(p);
    assert.equal(m.logFile, log);
    assert.equal(statSync(`${log}.1`).size, LOG_CAP_BYTES + 1, 'the old log is kept once');
    assert.ok(statSync(log).size < 100_000, 'the new run starts a fresh log');
    await suite.registry.unmount(m.mountPoint);
  });

  it('reads only what was appended, by byte offset, whole lines only', async () => {
    const dir = fresh();
    const file = join(dir, 'log');
    writeFileSync(file, '旧的一行\n');
    const tail = new LogTail(file, statSync(file).size);
    const line = Buffer.from('ERROR : 模型: failed\n');
    appendFileSync(file, line.subarray(0, 10)); // cut inside a multi-byte character
    assert.deepEqual(await tail.read(), []);
    appendFileSync(file, line.subarray(10));
    assert.deepEqual(await tail.read(), ['ERROR : 模型: failed']);
    assert.deepEqual(await tail.read(), []);
  });

  it('a failed remount of a healthy mount leaves the old mount as it was', async () => {
    const dir = fresh();
    const m = await suite.registry.mount(profile(dir));
    // Refused before anything is touched: a bucket that does not exist.
    await assert.rejects(suite.registry.remount(profile(dir, { remote: 's3:no-such-bucket' })), (e) =>
      isRcloneError(e, 'BucketNotFound'),
    );
    assert.equal(suite.registry.find(m.mountPoint)?.pid, m.pid, 'the same rclone still serves it');
    // Fails only once rclone runs: the old profile is mounted again.
    await assert.rejects(
      suite.registry.remount(profile(dir, { extraFlags: ['--vfs-read-ahead', 'abc'] })),
      (e: Error) => /previous mount was restored/.test(e.message),
    );
    const now = (await suite.registry.refresh()).find((x) => x.mountPoint === m.mountPoint);
    assert.deepEqual([now?.state, now?.remote, now?.profile?.extraFlags], ['mounted', 's3:models', undefined]);
    assert.equal(readFileSync(join(m.mountPoint, 'cache_hub', 'gpt.pth'), 'utf8'), 'weights');
    await suite.registry.unmount(m.mountPoint);
  });

  it('repair refuses a live mount with a file still uploading; the file then arrives', async () => {
    const dir = fresh();
    const m = await suite.registry.mount(profile(dir, { extraFlags: ['--vfs-write-back', '2s'] }));
    writeFileSync(join(m.mountPoint, 'cache_hub', 'new.bin'), 'fresh');
    await assert.rejects(suite.registry.repair(m.mountPoint), (e) => isRcloneError(e, 'AlreadyMounted'));
    assert.ok(processAlive(m.pid!));
    await suite.registry.unmount(m.mountPoint); // waits for the upload
    const listed = await listFolder(suite.box.rclone, 's3:models/cache_hub');
    assert.ok(listed.entries.some((e) => e.name === 'new.bin'));
  });

  it('shows a full cache disk on the mount, with what to do', async (t) => {
    if (process.getuid?.() !== 0) return t.skip('needs root to mount a small tmpfs for the cache');
    const dir = fresh();
    const cache = join(dir, 'cache');
    mkdirSync(cache);
    const small = await execa('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', cache], { reject: false });
    if (small.exitCode !== 0) return t.skip(`cannot mount a tmpfs here: ${small.stderr}`);
    try {
      const m = await suite.registry.mount(profile(dir, { cacheDir: cache, extraFlags: ['--vfs-write-back', '60s'] }));
      // Writes past the cache disk's 2 MB fail; rclone marks the cache out of space.
      await execa('dd', ['if=/dev/zero', `of=${join(m.mountPoint, 'big.bin')}`, 'bs=1M', 'count=4'], { reject: false });
      await waitFor(async () => {
        const now = (await suite.registry.refresh()).find((x) => x.mountPoint === m.mountPoint);
        return now !== undefined && cacheTrouble(now) !== undefined;
      }, 15_000);
      assert.match(cacheTrouble(suite.registry.find(m.mountPoint)!)!, /cache disk full|failed in the cache/);
      // The CLI, a second process reading the same records, says it too, with the fix.
      mkdirSync(join(dir, 'xdg'));
      symlinkSync(join(dir, 'state'), join(dir, 'xdg', 'rclone-devbox'));
      const cli = await execa(process.execPath, [join(ROOT, 'dist/cli.js'), 'mounts'], {
        env: {
          ...suite.box.rclone.env,
          XDG_STATE_HOME: join(dir, 'xdg'),
          XDG_CACHE_HOME: join(dir, 'xdg', 'cache'), // never ~/.cache
          RCLONE_CONFIG: suite.box.configFile,
        },
      });
      const line = String(cli.stdout)
        .split('\n')
        .find((l) => l.startsWith(`${m.mountPoint}\t`));
      assert.match(line ?? '', /cache disk full/);
      assert.ok(String(cli.stderr).includes(FIXES.CacheFull), String(cli.stderr));
      await suite.registry.unmount(m.mountPoint, { force: true });
    } finally {
      await cleanUp([dir]);
      await execa('umount', ['-l', cache], { reject: false });
    }
  });

  describe('errors keep their kind', () => {
    it('a mount point under a root-owned folder, as a normal user: PermissionDenied naming the folder', async (t) => {
      if (process.getuid?.() !== 0) return t.skip('needs root to run as another user');
      const dir = fresh();
      chmodSync(dir, 0o755);
      mkdirSync(join(dir, 'mnt'), { mode: 0o755 }); // like /mnt: root's
      const script = bundleSnippet(
        dir,
        'mkmount',
        `import { createMountPoint } from './src/core/mountPoint';
         createMountPoint(${JSON.stringify(join(dir, 'mnt', 'models'))}).then(
           () => process.stdout.write('{}'),
           (e) => process.stdout.write(JSON.stringify({ kind: e.kind, message: e.message, fix: e.fix })),
         );`,
      );
      const r = await execa(process.execPath, [script], { uid: NOBODY, gid: NOBODY });
      const e = JSON.parse(String(r.stdout)) as { kind: string; message: string; fix: string };
      assert.equal(e.kind, 'PermissionDenied');
      assert.ok(e.message.includes(join(dir, 'mnt')) && e.fix.includes(join(dir, 'mnt', 'models')), e.message);
    });

    it('fusermount refusing the mount point is not "FUSE is missing"; a non-empty point names the point', () => {
      const refused = classify({
        target: 's3:models',
        mountPoint: '/mnt/models',
        stderr:
          'mount helper error: fusermount3: user has no write access to mountpoint /mnt/models\n' +
          'Fatal error: failed to mount FUSE fs: fusermount: exit status 1',
      });
      assert.equal(refused.kind, 'PermissionDenied');
      assert.match(refused.message + refused.fix, /\/mnt\/models/);
      const full = classify({
        target: 's3:models',
        mountPoint: '/mnt/models',
        stderr: 'Fatal error: Directory is not empty: /mnt/models',
      });
      assert.deepEqual([full.kind, full.message], ['MountPointNotEmpty', 'The mount point /mnt/models is not empty.']);
    });
  });
});
