// The fault matrix: a real rclone mount (VFS cache mode "writes", its cache in the test's temp
// dir) of a real S3 server, behind the fault proxy (test/helpers/proxy.ts), broken the ways a dev
// box breaks: rclone killed mid-write, rclone stopped, the endpoint stuck or gone or slow, the cache
// disk full, the machine rebooted. For each: what the user sees (the registry's state, and
// `rclone-devbox status --json` of a second process reading the same state dir), that nothing
// hangs (every wait is bounded, elapsed times are asserted), and that nothing closed is lost
// (sha256 of what was written against what the bucket holds, read past the proxy).
// The box is shared: only this file's own mount points, temp dirs and rclone processes are looked at.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { execa, type ResultPromise } from 'execa';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { open, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import type { StatusJson } from '../../src/cli/status';
import { type ErrorKind, isRcloneError } from '../../src/core/errors';
import { listFolder } from '../../src/core/listing';
import { readRcloneMounts } from '../../src/core/mountinfo';
import { type Mount, MountRegistry } from '../../src/core/mounts';
import { targetOf, warmMetadata } from '../../src/core/prewarm';
import { processAlive, processState } from '../../src/core/processes';
import type { MountProfile } from '../../src/core/profile';
import { Rclone } from '../../src/core/rclone';
import { cli, cliEnv } from '../helpers/cli';
import { type Box, putObjects, s3Remote, seedFolder, startBox, tempDir } from '../helpers/fixtures';
import { cleanUp, under, waitFor } from '../helpers/mounts';
import { rclonePidsWhere } from '../helpers/procs';
import { type Proxy, startProxy } from '../helpers/proxy';

/** A bucket of this file's own: other suites watch theirs by name. */
const BUCKET = 'faults';
const MB = 1024 * 1024;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** One test's world: its temp dir, proxy, rclone config (remote `via`: through the proxy), registry. */
interface World {
  dir: string;
  proxy: Proxy;
  rclone: Rclone;
  registry: MountRegistry;
  /** The CLI's environment: the same state dir as `registry`. */
  env: Record<string, string>;
  /** Children a test started (writers, readers): killed at the end, even on failure. */
  children: ResultPromise[];
  /** Undone last, after the mounts are gone (a tmpfs under the temp dir). */
  undo: (() => Promise<unknown>)[];
  /** Operations a test started (each bounded, each given `cancel`): ended before their temp dir goes. */
  busy: Promise<unknown>[];
  cancel: AbortController;
}

describe('fault matrix: what the user sees, and nothing written is lost', () => {
  let box: Box;
  let w: World | undefined;
  let work: ReturnType<typeof tempDir> | undefined;

  before(async () => {
    box = await startBox([BUCKET]);
    // A marker per case, so no mount's root is empty (an empty root makes the mount ask whether the bucket exists).
    await putObjects(box, BUCKET, {
      'kill/.keep': '',
      'stop/.keep': '',
      'stop/sub/x.bin': 'x',
      'gone/.keep': '',
      'gone/tree/.keep': '', // s3rver lists a prefix one level deep: a marker makes tree/ a folder of gone/
      'gone/tree/a/1.bin': '1',
      'gone/tree/b/2.bin': '2',
      'full/.keep': '',
      'reboot/.keep': '',
    });
    // Three pages of 100 (list_chunk below) through a slow endpoint: a listing with progress to cancel.
    await seedFolder(box, BUCKET, 'slow/many', 300);
  });
  after(() => box?.dispose());

  afterEach(async () => {
    const world = w;
    w = undefined;
    if (!world) return;
    try {
      world.registry.dispose();
      // Nothing stays stuck or gone on the way out, and what a failed test left running ends first:
      // an operation still at work would write into the temp dir after it is removed.
      world.cancel.abort();
      world.proxy.release();
      await world.proxy.up();
      await Promise.allSettled(world.busy);
      for (const c of world.children) c.kill('SIGKILL');
      await Promise.allSettled(world.children);
      await cleanUp([world.dir]); // SIGCONT, then SIGKILL, for every rclone of this dir; lazy unmounts
      for (const u of world.undo.reverse()) await u().catch(() => undefined);
      await world.proxy.stop();
    } finally {
      work?.dispose();
      work = undefined;
    }
  });

  async function fresh(): Promise<World> {
    work = tempDir('rdb-faults-');
    const dir = work.path;
    const proxy = await startProxy(box.s3.port);
    const configFile = join(dir, 'rclone.conf');
    // `via` goes through the proxy (the "network" the faults happen on); `s3` (the box's) does not,
    // so what the bucket holds is always read straight from the server.
    writeFileSync(configFile, `${s3Remote('via', proxy.endpoint)}list_chunk = 100\n`, { mode: 0o600 });
    const rclone = await Rclone.locate({ configFile });
    const env = cliEnv(box, dir, { RCLONE_CONFIG: configFile });
    const registry = new MountRegistry(rclone, { stateDir: join(env.XDG_STATE_HOME!, 'rclone-devbox') });
    w = { dir, proxy, rclone, registry, env, children: [], undo: [], busy: [], cancel: new AbortController() };
    return w;
  }

  const profile = (world: World, folder: string, extra: Partial<MountProfile> = {}): MountProfile => ({
    remote: `via:${BUCKET}/${folder}`,
    mountPoint: join(world.dir, 'mnt'),
    cacheDir: join(world.dir, 'cache'),
    cacheMode: 'writes',
    ...extra,
  });

  const stateOf = async (world: World, mp: string): Promise<Mount | undefined> =>
    (await world.registry.refresh()).find((m) => m.mountPoint === mp);

  /** What `rclone-devbox status --json`, a second process on the same state dir, says of `mp`. */
  async function cliSays(world: World, mp: string) {
    const run = await cli(['status', '--json'], world.env, 30_000, world.dir);
    const status = JSON.parse(run.stdout) as StatusJson;
    return status.mounts.find((m) => m.mountPoint === mp);
  }

  /** sha256 of every object under `folder`, read straight from the server (not through the proxy). */
  async function bucketSums(folder: string): Promise<Map<string, string>> {
    const out = await box.rclone.run(['hashsum', 'sha256', '--download', '--', `s3:${BUCKET}/${folder}`], {
      timeoutMs: 60_000,
    });
    const sums = new Map<string, string>();
    for (const line of out.split('\n')) {
      const m = /^([0-9a-f]{64}) {2}(.+)$/.exec(line);
      if (m) sums.set(m[2]!, m[1]!);
    }
    return sums;
  }

  /** Waits (bounded) until every file of `files` is in the bucket under `folder` with the bytes written. */
  async function uploaded(folder: string, files: Record<string, Buffer>, timeoutMs = 30_000): Promise<void> {
    let sums = new Map<string, string>();
    const missing = () => Object.keys(files).filter((name) => sums.get(name) !== sha(files[name]!));
    try {
      await waitFor(async () => {
        sums = await bucketSums(folder);
        return missing().length === 0;
      }, timeoutMs);
    } catch {
      assert.fail(`not in the bucket with the bytes written after ${timeoutMs} ms: ${missing().join(', ')}`);
    }
  }

  /** The longest a 50 ms interval timer of this process fired late while it ran. */
  function timerLateness() {
    const period = 50;
    let last = performance.now();
    let worst = 0;
    const timer = setInterval(() => {
      const now = performance.now();
      worst = Math.max(worst, now - last - period);
      last = now;
    }, period);
    return () => (clearInterval(timer), worst);
  }

  const kindOf = (e: unknown): ErrorKind | string => (isRcloneError(e) ? e.kind : String(e));

  it('rclone killed mid-write with uploads queued: stale within 2 s, repaired, remounted, every closed file uploaded', async () => {
    const world = await fresh();
    const p = profile(world, 'kill', { extraFlags: ['--vfs-write-back', '10s'] });
    const m = await world.registry.mount(p);
    // Closed before the kill, each still waiting out --vfs-write-back (10 s) in the VFS cache.
    const closed: Record<string, Buffer> = {
      'a.bin': randomBytes(64 * 1024),
      'b.bin': randomBytes(3 * MB),
      'deep/c.bin': randomBytes(1024),
    };
    mkdirSync(join(m.mountPoint, 'deep'));
    for (const [name, bytes] of Object.entries(closed)) await writeFile(join(m.mountPoint, name), bytes);
    await waitFor(async () => (await stateOf(world, m.mountPoint))?.pendingUploads === 3, 5_000);

    // 100 MB written by another process (dd) through the mount; rclone is killed once about a third
    // of it is in rclone's cache file.
    const big = randomBytes(100 * MB);
    const source = join(world.dir, 'big.src');
    writeFileSync(source, big);
    const cacheFile = join(p.cacheDir!, 'vfs', 'via', BUCKET, 'kill', 'big.bin');
    const dd = execa('dd', [`if=${source}`, `of=${join(m.mountPoint, 'big.bin')}`, 'bs=1M'], { reject: false });
    world.children.push(dd);
    await waitFor(() => {
      try {
        return statSync(cacheFile).size >= 32 * MB;
      } catch {
        return false;
      }
    }, 20_000);
    process.kill(m.pid!, 'SIGKILL');
    const killed = Date.now();
    const writer = await dd;
    const held = statSync(cacheFile).size; // what rclone had received of big.bin when it died

    // What the user sees: stale, within 2 s, here and in the CLI.
    await waitFor(async () => (await stateOf(world, m.mountPoint))?.state === 'stale', 2_000);
    assert.ok(Date.now() - killed < 2_000, `stale after ${Date.now() - killed} ms`);
    assert.notEqual(writer.exitCode, 0, 'the writer was told its write failed');
    assert.match(String(writer.stderr), /not connected|Software caused connection abort|Input\/output error/);
    const seen = await cliSays(world, m.mountPoint);
    assert.deepEqual([seen?.state, seen?.pid], ['stale', m.pid]);
    assert.equal((await bucketSums('kill')).size, 1, 'nothing but the marker was uploaded before the kill');

    // Repair (a lazy unmount of the dead point), then mount the same profile on the same cache dir.
    await world.registry.repair(m.mountPoint);
    assert.equal(await stateOf(world, m.mountPoint), undefined);
    const again = await world.registry.mount(p);
    assert.equal(again.state, 'mounted');
    assert.notEqual(again.pid, m.pid);
    // rclone uploads what its VFS cache holds as not yet uploaded at the next mount of the same
    // remote with the same cache dir: every file closed before the kill arrives, byte for byte.
    await uploaded('kill', closed, 40_000);

    // The file being written when rclone died: its writer was told (dd failed). What can be promised
    // is what rclone had received of it: the bytes in its cache file at the kill. rclone 1.60 finds
    // the unclosed file dirty at the next mount and uploads its cache file as it is, so the bucket
    // then holds a truncated big.bin: exactly those bytes, a prefix of what was written, never
    // other bytes. (Completing the file is the writer's business: it saw the write fail.)
    await waitFor(async () => (await stateOf(world, again.mountPoint))?.pendingUploads === 0, 30_000);
    const partial = (await listFolder(box.rclone, `s3:${BUCKET}/kill`)).entries.find((e) => e.name === 'big.bin');
    assert.ok(held >= 32 * MB && held < big.length, `${held} bytes in the cache file at the kill`);
    assert.equal(partial?.size, held, 'what rclone had received is in the bucket');
    assert.equal((await bucketSums('kill')).get('big.bin'), sha(big.subarray(0, held)));
    await world.registry.unmount(again.mountPoint);
  });

  it('rclone stopped, and the endpoint stuck mid-request: "not answering", never repaired by a kill, nothing lost', async () => {
    const world = await fresh();
    const p = profile(world, 'stop', { extraFlags: ['--vfs-write-back', '2s'] });
    const m = await world.registry.mount(p);
    const pid = m.pid!;
    world.undo.push(async () => processAlive(pid) && process.kill(pid, 'SIGCONT')); // never left stopped

    /** Asserts what a fault that leaves rclone alive must look like, while the fault lasts. */
    async function notAnsweringAndKept(): Promise<void> {
      const late = timerLateness();
      for (let i = 0; i < 3; i++) assert.equal((await stateOf(world, m.mountPoint))?.state, 'not answering');
      await assert.rejects(world.registry.repair(m.mountPoint), (e) => isRcloneError(e, 'NotAnswering'));
      await assert.rejects(world.registry.unmount(m.mountPoint), (e) => isRcloneError(e, 'NotAnswering'));
      assert.equal((await cliSays(world, m.mountPoint))?.state, 'not answering');
      const worst = late();
      // Looking at a mount that does not answer never blocks this process (the editor's, or the CLI's).
      assert.ok(worst < 200, `a 50 ms timer fired ${Math.round(worst)} ms late`);
      assert.ok(processAlive(pid), 'its rclone was not killed');
      assert.ok(
        (await readRcloneMounts()).some((e) => e.mountPoint === m.mountPoint),
        'still mounted',
      );
    }

    // 1. SIGSTOP, with a file written and closed just before (its upload waits out the 2 s write-back).
    const beforeStop = { 'before-stop.bin': randomBytes(256 * 1024) };
    await writeFile(join(m.mountPoint, 'before-stop.bin'), beforeStop['before-stop.bin']);
    process.kill(pid, 'SIGSTOP');
    await notAnsweringAndKept();
    assert.equal(processState(pid), 'T', 'still stopped: nothing continued it behind our back');
    process.kill(pid, 'SIGCONT');
    await waitFor(async () => (await stateOf(world, m.mountPoint))?.state === 'mounted', 10_000);
    await uploaded('stop', beforeStop, 20_000);

    // 2. The endpoint stuck mid-request: a listing of a folder the mount has not read yet holds the
    // folder's lock in rclone while its request hangs, and the mount's rc (vfs/stats) waits on it.
    // The listing runs in another process (ls): a read of a stuck mount never returns, and this
    // process must not spend one of its few worker threads on it.
    const beforeHold = { 'before-hold.bin': randomBytes(256 * 1024) };
    await writeFile(join(m.mountPoint, 'before-hold.bin'), beforeHold['before-hold.bin']);
    world.proxy.hold();
    const ls = execa('ls', [join(m.mountPoint, 'sub')], { reject: false, timeout: 60_000 });
    world.children.push(ls);
    await waitFor(async () => (await stateOf(world, m.mountPoint))?.state === 'not answering', 10_000);
    await notAnsweringAndKept();
    world.proxy.release();
    assert.equal((await ls).stdout, 'x.bin', 'the stuck listing completes once the endpoint answers');
    await waitFor(async () => (await stateOf(world, m.mountPoint))?.state === 'mounted', 10_000);
    await uploaded('stop', beforeHold, 20_000);
    await world.registry.unmount(m.mountPoint);
  });

  it('the endpoint goes away during a listing, a mount, a prewarm and an upload: each ends in its bound with its kind; queued uploads finish once it is back', async () => {
    const world = await fresh();
    const p = profile(world, 'gone', { extraFlags: ['--vfs-write-back', '1s'] });
    const m = await world.registry.mount(p);
    const queued = { 'queued.bin': randomBytes(2 * MB) };

    // The endpoint stops answering first (held: connections open, nothing passed on), so that every
    // operation below has a request in flight when it then goes away.
    world.proxy.hold();
    const requests = world.proxy.requests.length;
    const sent = (part: string) => world.proxy.requests.slice(requests).filter((r) => r.includes(part)).length;
    await writeFile(join(m.mountPoint, 'queued.bin'), queued['queued.bin']);
    await waitFor(() => sent('queued.bin') > 0, 10_000);
    const timed = async <T>(op: Promise<T>) => {
      const t0 = Date.now();
      const outcome = await op.then(
        (value) => ({ ok: true as const, value }),
        (error: unknown) => ({ ok: false as const, error }),
      );
      return { ...outcome, ms: Date.now() - t0 };
    };
    const signal = world.cancel.signal;
    const ops = Promise.all([
      timed(listFolder(world.rclone, `via:${BUCKET}/gone/tree`, { timeoutMs: 15_000, signal })),
      timed(
        world.registry.mount(
          profile(world, 'gone', { mountPoint: join(world.dir, 'mnt2'), cacheDir: join(world.dir, 'cache2') }),
          { timeoutMs: 15_000, signal },
        ),
      ),
      timed(warmMetadata(await targetOf(world.registry, m), ['tree'], { timeoutMs: 8_000, signal })),
    ]);
    world.busy.push(ops);
    // Each has its first request on the way: the listing's HEAD of tree (is it a file?), the new
    // mount's of its root, the prewarm's listing of tree/.
    const first = ['HEAD /faults/gone/tree ', 'HEAD /faults/gone ', 'prefix=gone%2Ftree%2F'];
    await waitFor(() => first.every((r) => sent(r) > 0), 10_000);
    await world.proxy.down();
    const down = Date.now();
    const [listing, mount, prewarm] = await ops;
    const say = (o: { ok: boolean; ms: number; error?: unknown }) => `${o.ok ? 'ok' : kindOf(o.error)} in ${o.ms} ms`;
    // A listing by its own rclone (--low-level-retries 2): Unreachable at once.
    assert.ok(!listing.ok && kindOf(listing.error) === 'Unreachable' && listing.ms < 15_000, say(listing));
    // A mount whose rclone cannot reach the endpoint: its diagnosis says why, and nothing is left behind.
    assert.ok(!mount.ok && kindOf(mount.error) === 'Unreachable' && mount.ms < 20_000, say(mount));
    const mnt2 = join(world.dir, 'mnt2');
    assert.equal(
      (await readRcloneMounts()).some((e) => e.mountPoint === mnt2),
      false,
      'no mount left on mnt2',
    );
    assert.deepEqual(
      rclonePidsWhere((argv) => argv.includes(mnt2)),
      [],
      'no rclone left for mnt2',
    );
    // A prewarm through the mount's rc: the listing job fails with the network's words (or runs out
    // of its time while the mount's rclone retries): either way a kind the user can act on.
    assert.ok(!prewarm.ok && ['Unreachable', 'Timeout'].includes(kindOf(prewarm.error)), say(prewarm));
    assert.ok(prewarm.ms < 8_000 + 6_000, say(prewarm)); // its bound, then up to 5 s to stop its job
    // The upload: the writer was done at close(); the file waits in the VFS cache, counted as pending.
    await waitFor(async () => {
      const now = await stateOf(world, m.mountPoint);
      return now?.state === 'mounted' && now.pendingUploads === 1;
    }, 10_000);
    assert.equal((await cliSays(world, m.mountPoint))?.pendingUploads, 1);
    assert.ok(Date.now() - down < 30_000, 'nothing hung');
    assert.equal((await bucketSums('gone')).has('queued.bin'), false, 'not uploaded while the endpoint is gone');

    // The endpoint comes back: the queued upload finishes by itself, and the mount works as before.
    await world.proxy.up();
    await uploaded('gone', queued, 60_000);
    const warm = await warmMetadata(await targetOf(world.registry, m), ['tree'], { timeoutMs: 15_000 });
    assert.ok(warm.files >= 2, `warmed ${warm.files} files`);
    await world.registry.unmount(m.mountPoint);
  });

  it('a slow endpoint (2 s per request): a listing shows progress, and a cancel ends its rclone within 2 s', async () => {
    const world = await fresh();
    world.proxy.setDelay(2_000);
    const abort = world.cancel;
    const seen: string[] = [];
    // Streamed from pages of 100 (list_chunk): the first names come while later pages are on their way.
    const listing = listFolder(world.rclone, `via:${BUCKET}/slow/many`, {
      listR: true,
      signal: abort.signal,
      timeoutMs: 60_000,
      onEntry: (e) => seen.push(e.name),
    }).then(
      () => 'finished',
      (e: unknown) => kindOf(e),
    );
    world.busy.push(listing);
    const ours = () => rclonePidsWhere((argv) => argv.some((a) => a.includes(world.dir)));
    await waitFor(() => seen.length > 0, 30_000);
    assert.ok(ours().length > 0, 'the listing runs in an rclone of this test');
    abort.abort();
    const aborted = Date.now();
    assert.equal(await listing, 'Cancelled');
    assert.ok(seen.length > 0 && seen.length < 300, `${seen.length} entries before the cancel`);
    await waitFor(() => ours().length === 0, 2_000).catch(() => assert.fail(`rclone still runs: ${ours().join(' ')}`));
    assert.ok(Date.now() - aborted < 2_000);
  });

  it('the VFS cache disk fills up: the writer gets an error, the mount shows it, earlier files are uploaded, and writes work again once there is space', async (t) => {
    if (process.getuid?.() !== 0) return t.skip('needs root to mount a small tmpfs for the VFS cache');
    const world = await fresh();
    const cache = join(world.dir, 'cache');
    mkdirSync(cache);
    const tmpfs = await execa('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', cache], { reject: false });
    if (tmpfs.exitCode !== 0) return t.skip(`cannot mount a tmpfs here: ${tmpfs.stderr}`);
    world.undo.push(() => execa('umount', ['-l', cache], { reject: false })); // after its rclone is gone
    const m = await world.registry.mount(
      profile(world, 'full', { cacheDir: cache, extraFlags: ['--vfs-write-back', '2s'] }),
    );
    const small = { 'small-1.bin': randomBytes(256 * 1024), 'small-2.bin': randomBytes(256 * 1024) };
    for (const [name, bytes] of Object.entries(small)) await writeFile(join(m.mountPoint, name), bytes);

    // 16 MB into an 8 MB cache disk, 1 MB at a time: the write (or the close) fails, and says why.
    const big = randomBytes(16 * MB);
    let failure: NodeJS.ErrnoException | undefined;
    const fh = await open(join(m.mountPoint, 'big.bin'), 'w');
    try {
      // Each write at its own offset, and a short write (the disk filling up mid-chunk) continued from where it stopped.
      for (let at = 0; at < big.length;) {
        const { bytesWritten } = await fh.write(big, at, Math.min(MB, big.length - at), at);
        if (bytesWritten === 0) throw new Error(`wrote nothing at ${at}`);
        at += bytesWritten;
      }
    } catch (e) {
      failure = e as NodeJS.ErrnoException;
    } finally {
      await fh.close().catch((e: NodeJS.ErrnoException) => (failure ??= e));
    }
    assert.ok(failure && ['ENOSPC', 'EIO'].includes(failure.code!), `the writer was told: ${failure?.code}`);

    // What the user sees: the mount's cache trouble, here and in the CLI.
    await waitFor(async () => {
      const now = await stateOf(world, m.mountPoint);
      return now !== undefined && (now.outOfSpace || now.erroredFiles > 0);
    }, 15_000);
    const trouble = await cliSays(world, m.mountPoint);
    assert.ok(trouble?.cacheTrouble, `the CLI says: ${JSON.stringify(trouble)}`);
    // The files closed before the disk filled up are uploaded all the same.
    await uploaded('full', small, 30_000);
    // The failed file: rclone uploads on close what its cache file holds, so the bucket gets a
    // truncated big.bin (a prefix of what was written, never other bytes) under the name the writer
    // was told had failed. Deleting it through the mount removes it from the cache and the bucket.
    await waitFor(async () => (await stateOf(world, m.mountPoint))?.pendingUploads === 0, 30_000);
    const partial = (await listFolder(box.rclone, `s3:${BUCKET}/full`)).entries.find((e) => e.name === 'big.bin');
    assert.ok(partial && partial.size > 0 && partial.size < big.length, `${partial?.size} bytes of big.bin`);
    assert.equal((await bucketSums('full')).get('big.bin'), sha(big.subarray(0, partial.size)));

    // Space comes back (the failed file's remains deleted): new writes work, are uploaded, and the
    // trouble is no longer shown.
    await rm(join(m.mountPoint, 'big.bin'), { force: true });
    assert.equal((await bucketSums('full')).has('big.bin'), false, 'the truncated object is gone too');
    const later = { 'after.bin': randomBytes(MB) };
    await writeFile(join(m.mountPoint, 'after.bin'), later['after.bin']);
    await uploaded('full', later, 30_000);
    await waitFor(async () => {
      const now = await stateOf(world, m.mountPoint);
      return now?.state === 'mounted' && !now.outOfSpace && now.erroredFiles === 0;
    }, 10_000).catch(async () => assert.fail(`still shown: ${JSON.stringify(await stateOf(world, m.mountPoint))}`));
    await world.registry.unmount(m.mountPoint);
  });

  it('a reboot (rclone killed, the kernel forgets its mount): nothing stale is shown, and mounting again sends what was pending', async () => {
    const world = await fresh();
    const p = profile(world, 'reboot', { extraFlags: ['--vfs-write-back', '5s'] });
    const m = await world.registry.mount(p);
    const pending = { 'unsent.bin': randomBytes(512 * 1024) };
    await writeFile(join(m.mountPoint, 'unsent.bin'), pending['unsent.bin']);
    await waitFor(async () => (await stateOf(world, m.mountPoint))?.pendingUploads === 1, 4_000);
    // The reboot: rclone gone without a word, the mount gone from the kernel; the state dir and the VFS cache stay.
    process.kill(m.pid!, 'SIGKILL');
    await execa('fusermount3', ['-uz', m.mountPoint]);
    await waitFor(() => !processAlive(m.pid!), 2_000);
    world.registry.dispose();

    // After the "boot": a new registry on the same state dir. Its record is still on disk, but a
    // record whose rclone is gone and whose point is not mounted is no mount: nothing is shown.
    const booted = new MountRegistry(world.rclone, { stateDir: world.registry.stateDir });
    world.undo.push(async () => booted.dispose());
    assert.deepEqual(under(world.dir, await booted.refresh()), []);
    assert.equal(await cliSays(world, m.mountPoint), undefined);
    const text = await cli(['status'], world.env, 30_000, world.dir);
    assert.ok(!text.stdout.includes(m.mountPoint), text.stdout);
    assert.equal((await bucketSums('reboot')).has('unsent.bin'), false, 'not uploaded before the reboot');

    // Mounting the same profile again (same remote, same cache dir) sends what the cache still holds.
    const again = await booted.mount(p);
    assert.deepEqual([again.state, again.started], ['mounted', true]);
    await uploaded('reboot', pending, 30_000);
    await booted.unmount(again.mountPoint);
  });
});
