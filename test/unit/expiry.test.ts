// Pasted session tokens cannot be renewed under a running mount: the time they expire, as the user
// types it, is kept beside our state, and a mount is stopped before then with its uploads done.
// Real rclone, a real FUSE mount of the local S3 server behind the fault proxy (which goes away
// to leave an upload pending).
import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { isRcloneError } from '../../src/core/errors';
import { ExpiryStore, parseExpiry, stopBeforeExpiry } from '../../src/core/expiry';
import { MountRegistry } from '../../src/core/mounts';
import type { MountProfile } from '../../src/core/profile';
import { Rclone } from '../../src/core/rclone';
import { type Box, putObjects, s3Remote, startBox, tempDir } from '../helpers/fixtures';
import { cleanUp, waitFor } from '../helpers/mounts';
import { type Proxy, startProxy } from '../helpers/proxy';

describe('parseExpiry: what the user types for when a session token expires', () => {
  const now = new Date('2026-11-29T10:00:00');

  it('reads durations, a time of day, and a date and time', () => {
    const after = (text: string) => parseExpiry(text, now)!.getTime() - now.getTime();
    assert.equal(after('1h'), 3600e3);
    assert.equal(after('90m'), 90 * 60e3);
    assert.equal(after('in 45 min'), 45 * 60e3);
    assert.equal(after('2d'), 2 * 86400e3);
    assert.equal(after('12 hours'), 12 * 3600e3);
    assert.equal(after('17:30'), 7.5 * 3600e3, 'later today');
    assert.equal(after('09:00'), 23 * 3600e3, 'a time already past today is tomorrow');
    assert.equal(parseExpiry('2026-11-30T09:00:00Z', now)!.toISOString(), '2026-11-30T09:00:00.000Z');
    assert.equal(parseExpiry('  ', now), undefined, 'empty: unknown');
  });

  it('refuses what is not a time, and a time that has passed, saying what to give', () => {
    for (const text of ['soon', '25:00', '1 fortnight', '2020-01-01T00:00:00Z']) {
      assert.throws(
        () => parseExpiry(text, now),
        (e: unknown) => isRcloneError(e, 'ConfigInvalid') && /time|passed/.test((e as Error).message),
        text,
      );
    }
  });
});

describe('ExpiryStore: one file per remote and config file', () => {
  it('keeps, tells apart and forgets expiries', async () => {
    const work = tempDir('rdb-expiry-');
    try {
      const store = new ExpiryStore(join(work.path, 'expiry'));
      assert.equal(await store.empty(), true);
      const when = new Date('2026-11-30T09:00:00Z');
      await store.set('/a/rclone.conf', 'sts', when);
      assert.equal(await store.empty(), false);
      assert.equal((await store.get('/a/rclone.conf', 'sts'))?.toISOString(), when.toISOString());
      assert.equal(await store.get('/b/rclone.conf', 'sts'), undefined, 'another config file: another remote');
      assert.equal(await store.get('/a/rclone.conf', 'other'), undefined);
      await store.set('/a/rclone.conf', 'sts', undefined);
      assert.equal(await store.get('/a/rclone.conf', 'sts'), undefined);
      assert.equal(await store.empty(), true);
    } finally {
      work.dispose();
    }
  });
});

describe('stopBeforeExpiry: a mount taken down before its credentials expire', () => {
  let box: Box;
  let work: ReturnType<typeof tempDir> | undefined;
  let proxy: Proxy | undefined;
  let registry: MountRegistry | undefined;

  before(async () => {
    box = await startBox(['expiry']);
    await putObjects(box, 'expiry', { '.keep': '' });
  });
  after(() => box?.dispose());
  afterEach(async () => {
    registry?.dispose();
    await proxy?.up();
    if (work) await cleanUp([work.path]);
    await proxy?.stop();
    work?.dispose();
    work = proxy = registry = undefined;
  });

  async function world() {
    work = tempDir('rdb-expiry-');
    proxy = await startProxy(box.s3.port);
    const configFile = join(work.path, 'rclone.conf');
    writeFileSync(configFile, s3Remote('via', proxy.endpoint), { mode: 0o600 });
    registry = new MountRegistry(await Rclone.locate({ configFile }), { stateDir: join(work.path, 'state') });
    const profile: MountProfile = {
      remote: 'via:expiry',
      mountPoint: join(work.path, 'mnt'),
      cacheDir: join(work.path, 'cache'),
      cacheMode: 'writes',
    };
    return { registry, profile };
  }

  const inBucket = (key: string) =>
    box.rclone.run(['cat', '--', `s3:expiry/${key}`], { timeoutMs: 30_000 }).catch(() => undefined);

  it('waits for the uploads, then unmounts: nothing written is lost', async () => {
    const { registry, profile } = await world();
    await registry.mount(profile);
    writeFileSync(join(profile.mountPoint, 'result.wav'), 'synthesized');
    const seen: number[] = [];
    // 10 s are kept back before the expiry: this leaves 20 s for the upload.
    const { left } = await stopBeforeExpiry(registry, profile.mountPoint, new Date(Date.now() + 30_000), {
      onProgress: (n) => seen.push(n),
    });
    assert.equal(left, 0);
    assert.equal(
      (await registry.refresh()).find((m) => m.mountPoint === profile.mountPoint),
      undefined,
    );
    assert.equal(await inBucket('result.wav'), 'synthesized');
    assert.equal(seen.at(-1), 0, 'the last count said: uploads done');
  });

  it('an upload that cannot finish in time is left in the VFS cache, counted, and goes up with the next mount', async () => {
    const { registry, profile } = await world();
    await registry.mount(profile);
    await proxy!.down(); // the endpoint goes away: the upload is retried, never done
    writeFileSync(join(profile.mountPoint, 'late.wav'), 'late');
    const started = Date.now();
    const { left } = await stopBeforeExpiry(registry, profile.mountPoint, new Date(Date.now() + 12_000));
    assert.equal(left, 1, 'one file not uploaded');
    assert.ok(Date.now() - started < 10_000, `stopped before the expiry (${Date.now() - started} ms)`);
    assert.equal(
      (await registry.refresh()).find((m) => m.mountPoint === profile.mountPoint),
      undefined,
    );
    const cached = readdirSync(join(profile.cacheDir!), { recursive: true, encoding: 'utf8' });
    assert.ok(
      cached.some((f) => f.endsWith('late.wav')),
      `late.wav waits in the cache: ${cached.join(', ')}`,
    );
    // Renewed: the same profile mounts again, with the same cache, and the file goes up.
    await proxy!.up();
    await registry.mount(profile);
    await waitFor(async () => (await inBucket('late.wav')) === 'late', 30_000);
    // (The bucket is what is checked: rclone 1.60 may answer the first read through the new mount
    // of a file whose cached upload has just finished with no bytes; a read after that is whole.)
    await registry.unmount(profile.mountPoint);
  });
});
